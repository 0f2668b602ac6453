// Task Queue tab: "Import from another queue" — pick a database of SachiraChin's
// sd-webui-forge-task-scheduler or Agent Scheduler that the server found, import it, read the
// report. The browser only ever names a found database by its id, never a path.
(function (TS) {
    "use strict";

    const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

    async function open(app) {
        const {el} = TS.dom;
        const body = el("div", {className: "ts-import-body"}, [el("p", {text: "Looking for other queue extensions…"})]);
        const closeButton = el("button", {className: "ts-button", text: "Close", on: {click: () => close()}});
        const box = el("div", {className: "ts-dialog ts-import", attrs: {role: "dialog", "aria-modal": "true", "aria-label": "Import from another queue"}}, [
            el("h3", {text: "Import from another queue"}),
            body,
            el("div", {className: "ts-dialog-buttons ts-import-close"}, [closeButton]),
        ]);
        const overlay = el("div", {className: "ts-overlay", on: {click: (e) => e.target === overlay && close()}}, [box]);
        const onKey = (event) => {
            if (event.key === "Escape") close();
        };
        function close() {
            overlay.remove();
            document.removeEventListener("keydown", onKey, true);
        }
        app.root.append(overlay);
        document.addEventListener("keydown", onKey, true);
        closeButton.focus();

        const reply = await app.act({action: "peer_sources"}, {silent: true});
        if (!reply.ok) {
            body.replaceChildren(el("p", {className: "ts-import-error", text: reply.error}));
            return;
        }
        showSources(app, body, reply.sources);
    }

    function showSources(app, body, sources) {
        const {el} = TS.dom;
        if (!sources.length) {
            body.replaceChildren(
                el("p", {text: "No database of sd-webui-forge-task-scheduler (SachiraChin) or Agent Scheduler was found in Forge's extensions folder."}),
                el("p", {className: "ts-import-hint", text: "A database kept elsewhere can be imported from the command line: python -m task_scheduler.peers.importer PATH --data-dir DATA_FOLDER (see the README)."}),
            );
            return;
        }
        const choices = sources.map((source, index) => {
            const radio = el("input", {attrs: {type: "radio", name: "ts-import-source", value: source.id, checked: index === 0}});
            return el("label", {className: "ts-import-source"}, [
                radio,
                el("span", {className: "ts-import-label", text: source.label}),
                el("span", {className: "ts-import-meta", text: ` — folder ${source.folder}: ${plural(source.pending, "pending task")}, ${plural(source.history, "finished task")}`}),
            ]);
        });
        const history = el("input", {attrs: {type: "checkbox"}, className: "ts-import-history"});
        const start = el("button", {className: "ts-button ts-primary ts-import-start", text: "Import", on: {click: run}});
        body.replaceChildren(
            el("p", {text: "Pending tasks are queued here in the other queue's order. The other database is only read, never changed; importing again adds nothing twice."}),
            el("fieldset", {className: "ts-import-sources"}, [el("legend", {text: "Database"}), ...choices]),
            el("label", {className: "ts-import-option"}, [history, " Also import finished tasks (as history, with their result images)"]),
            el("div", {className: "ts-dialog-buttons"}, [start]),
        );

        async function run() {
            const chosen = body.querySelector("input[name='ts-import-source']:checked");
            start.disabled = true;
            start.textContent = "Importing…";
            const reply = await app.act({action: "peer_import", source: chosen ? chosen.value : "", include_history: history.checked});
            if (!reply.ok) {
                start.disabled = false;
                start.textContent = "Import";
                return;
            }
            showReport(body, reply.report);
        }
    }

    function showReport(body, report) {
        const {el} = TS.dom;
        const summary = `Imported ${report.imported} (${report.imported_pending} pending), skipped ${report.skipped}, already imported ${report.already_imported}.`;
        const skipped = report.rows.filter((row) => row.outcome === "skipped");
        const warned = report.rows.filter((row) => row.outcome === "imported" && row.warnings.length);
        const section = (title, rows, describe) => rows.length ? el("details", {className: "ts-import-section", attrs: {open: rows.length <= 10}}, [
            el("summary", {text: `${title} (${rows.length})`}),
            el("ul", {}, rows.map((row) => el("li", {dataset: {source: row.source_id}}, [el("span", {className: "ts-import-task", text: row.label || row.source_id.slice(0, 8)}), ": ", describe(row)]))),
        ]) : null;
        body.replaceChildren(
            el("p", {className: "ts-import-summary", text: summary}),
            section("Skipped", skipped, (row) => row.reason),
            section("Imported with warnings", warned, (row) => el("ul", {className: "ts-warnings"}, row.warnings.map((w) => el("li", {text: w})))),
        );
    }

    TS.peerImport = {open};
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
