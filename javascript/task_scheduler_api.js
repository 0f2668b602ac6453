// Task Queue tab: calls to the tab's Gradio events (never the REST routes, so the tab works
// with --api-auth, and --gradio-auth's login cookie covers it).
(function (TS) {
    "use strict";

    function rootUrl() {
        const config = window.gradio_config;
        const root = (config && config.root) || "";
        return root.replace(/\/+$/, "");
    }

    // POST one JSON request to a Gradio event by its API name; resolve to [reply, ...extras].
    async function call(apiName, request) {
        const response = await fetch(`${rootUrl()}/run/${apiName}`, {
            method: "POST",
            credentials: "same-origin",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({data: [JSON.stringify(request)]}),
        });
        if (!response.ok) {
            throw new Error(`The server answered ${response.status} ${response.statusText}`);
        }
        const body = await response.json();
        const data = body.data || [];
        return [JSON.parse(data[0] || "{}"), ...data.slice(1)];
    }

    TS.api = {
        names: {poll: "task_scheduler_poll", act: "task_scheduler_act", open: "task_scheduler_open"},
        configure(mount) {
            for (const key of Object.keys(this.names)) {
                const name = mount.dataset["api" + key[0].toUpperCase() + key.slice(1)];
                if (name) this.names[key] = name;
            }
        },
        async poll(request) {
            return (await call(this.names.poll, request))[0];
        },
        async act(request) {
            return (await call(this.names.act, request))[0];
        },
        // Resolves to {reply, images: [{url, caption}]} (images served by Gradio).
        async open(taskId) {
            const [reply, gallery] = await call(this.names.open, {id: taskId});
            const images = (gallery || []).map((item) => ({
                url: item.image ? item.image.url : item.url,
                caption: item.caption || "",
            }));
            return {reply, images};
        },
    };
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
