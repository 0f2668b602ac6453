// Task Queue tab: in-page dialogs (confirm, full-size image) and the "queue is empty" notice.
(function (TS) {
    "use strict";

    // A modal question; resolves to true when the user confirms.
    function confirm(host, message, confirmLabel) {
        const {el} = TS.dom;
        return new Promise((resolve) => {
            const finish = (answer) => {
                overlay.remove();
                document.removeEventListener("keydown", onKey, true);
                resolve(answer);
            };
            const onKey = (event) => {
                if (event.key === "Escape") finish(false);
            };
            const yes = el("button", {className: "ts-button ts-danger", text: confirmLabel, on: {click: () => finish(true)}});
            const no = el("button", {className: "ts-button", text: "Cancel", on: {click: () => finish(false)}});
            const box = el("div", {className: "ts-dialog", attrs: {role: "dialog", "aria-modal": "true", "aria-label": "Confirm"}}, [
                el("p", {text: message}),
                el("div", {className: "ts-dialog-buttons"}, [no, yes]),
            ]);
            const overlay = el("div", {className: "ts-overlay", on: {click: (e) => e.target === overlay && finish(false)}}, [box]);
            host.append(overlay);
            document.addEventListener("keydown", onKey, true);
            yes.focus();
        });
    }

    // Full-size view of one result image; arrows step through the task's images.
    function lightbox(host, images, start) {
        const {el} = TS.dom;
        let index = start;
        const img = el("img", {className: "ts-lightbox-image", attrs: {alt: "Result image (full size)"}});
        const caption = el("div", {className: "ts-lightbox-caption"});
        const show = () => {
            img.src = images[index].url;
            caption.textContent = `${images[index].caption}  (${index + 1}/${images.length})`;
        };
        const close = () => {
            overlay.remove();
            document.removeEventListener("keydown", onKey, true);
        };
        const onKey = (event) => {
            if (event.key === "Escape") close();
            else if (event.key === "ArrowRight") index = (index + 1) % images.length;
            else if (event.key === "ArrowLeft") index = (index + images.length - 1) % images.length;
            else return;
            event.preventDefault();
            if (document.contains(overlay)) show();
        };
        const overlay = el("div", {className: "ts-overlay ts-lightbox", attrs: {role: "dialog", "aria-label": "Full-size image"}, on: {click: close}}, [
            img,
            caption,
        ]);
        show();
        host.append(overlay);
        document.addEventListener("keydown", onKey, true);
    }

    // Ask for the browser's permission early (on Start), so the later notice can show.
    function prepareNotifications(settings) {
        if (settings.notify_when_empty && "Notification" in window && Notification.permission === "default") {
            Notification.requestPermission().catch(() => {});
        }
    }

    function queueEmptied(app, done) {
        const settings = app.settings();
        if (!settings.notify_when_empty) return;
        const text = `The task queue is empty: ${done} task${done === 1 ? "" : "s"} finished.`;
        app.toast(text, "info");
        if ("Notification" in window && Notification.permission === "granted") {
            try {
                new Notification("Task Queue finished", {body: text});
            } catch (error) {
                // Some browsers allow notifications only from a service worker.
            }
        }
        if (settings.notify_sound) beep();
    }

    function beep() {
        const Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) return;
        const context = new Context();
        const tone = context.createOscillator();
        const gain = context.createGain();
        tone.frequency.value = 880;
        gain.gain.setValueAtTime(0.15, context.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.6);
        tone.connect(gain).connect(context.destination);
        tone.start();
        tone.stop(context.currentTime + 0.6);
        tone.onended = () => context.close();
    }

    TS.dialogs = {confirm, lightbox, prepareNotifications, queueEmptied};
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
