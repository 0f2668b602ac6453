// Task Queue tab: DOM building and keyed updates. User text only ever goes into textContent,
// attributes or form values: nothing from a task is parsed as HTML.
(function (TS) {
    "use strict";

    // el("button", {className, text, title, dataset, attrs, on: {click}}, [children])
    function el(tag, options, children) {
        const node = document.createElement(tag);
        const opts = options || {};
        if (opts.className) node.className = opts.className;
        if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
        if (opts.title) node.title = opts.title;
        for (const [key, value] of Object.entries(opts.dataset || {})) node.dataset[key] = value;
        for (const [key, value] of Object.entries(opts.attrs || {})) {
            if (value !== undefined && value !== null && value !== false) {
                node.setAttribute(key, value === true ? "" : String(value));
            }
        }
        for (const [event, handler] of Object.entries(opts.on || {})) {
            node.addEventListener(event, handler);
        }
        for (const child of children || []) {
            if (child !== null && child !== undefined && child !== false) {
                node.append(child instanceof Node ? child : document.createTextNode(String(child)));
            }
        }
        return node;
    }

    function setText(node, text) {
        const value = text === null || text === undefined ? "" : String(text);
        if (node.textContent !== value) node.textContent = value;
    }

    function toggleClass(node, name, on) {
        if (node.classList.contains(name) !== Boolean(on)) node.classList.toggle(name, Boolean(on));
    }

    // Make `container`'s children match `items` (keyed by item.id), touching only what changed:
    // existing nodes are updated in place and moved only when out of order, so nothing flickers
    // and focus, hover and scroll position survive a refresh.
    function reconcile(container, items, create, update) {
        const existing = new Map();
        for (const child of Array.from(container.children)) {
            if (child.dataset.key) existing.set(child.dataset.key, child);
        }
        const wanted = new Set(items.map((item) => item.id));
        for (const [key, node] of existing) {
            if (!wanted.has(key)) node.remove();
        }
        let cursor = container.firstElementChild;
        for (const item of items) {
            let node = existing.get(item.id);
            if (!node) {
                node = create(item);
                node.dataset.key = item.id;
            }
            update(node, item);
            if (node !== cursor) container.insertBefore(node, cursor);
            else cursor = cursor.nextElementSibling;
        }
    }

    function duration(seconds) {
        if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
        if (seconds < 1) return "under 1s";
        const total = Math.round(seconds);
        const h = Math.floor(total / 3600);
        const m = Math.floor((total % 3600) / 60);
        const s = total % 60;
        if (h) return `${h}h ${m}m`;
        if (m) return `${m}m ${s}s`;
        return `${s}s`;
    }

    function time(epochSeconds) {
        if (!epochSeconds) return "";
        return new Date(epochSeconds * 1000).toLocaleString();
    }

    TS.dom = {el, setText, toggleClass, reconcile, duration, time};
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
