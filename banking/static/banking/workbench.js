/* The reconciliation workbench: plain JavaScript, no library, no network beyond this site.
 *
 * The page (admin_workbench.py) renders the shell; this script fills the three
 * lists and the summary from the workbench's JSON endpoints and sends the
 * decisions back. Money is handled in whole cents (integers), never floats.
 * Shortcuts are listed in the page's help dialog (press ?).
 */
(function () {
  "use strict";

  const root = document.querySelector(".workbench");
  if (!root) return;
  const config = JSON.parse(document.getElementById("workbench-config").textContent);
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (selector) => document.querySelector(selector);

  const PANES = ["suggestions", "lines", "books"];
  const state = {
    filters: {},
    active: "lines",
    finalized: false,
    summary: null,
    panes: {
      suggestions: { page: 1, rows: [], cursor: 0, status: "" },
      lines: { page: 1, rows: [], cursor: 0, status: "open" },
      books: { page: 1, rows: [], cursor: 0, status: "open" },
    },
    selected: { suggestions: new Map(), lines: new Map(), books: new Map() },
  };

  // --- Money in cents -------------------------------------------------------------

  function cents(text) {
    if (text === null || text === undefined || text === "") return 0;
    const negative = text.startsWith("-");
    const [whole, fraction = ""] = text.replace("-", "").split(".");
    const value = Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
    return negative ? -value : value;
  }

  function money(value) {
    if (value === null || value === undefined) return "—";
    const amount = typeof value === "number" ? value : cents(value);
    const sign = amount < 0 ? "-" : "";
    const abs = Math.abs(amount);
    const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}${whole}.${String(abs % 100).padStart(2, "0")}`;
  }

  // --- Talking to the server ----------------------------------------------------------

  async function api(action, { method = "GET", body = null, params = null } = {}) {
    let url = config.api + action + "/";
    if (params) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(params)) {
        if (value !== "" && value !== null && value !== undefined) query.set(key, value);
      }
      url += "?" + query.toString();
    }
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      throw new Error("The server could not be reached; nothing was changed.");
    }
    let data;
    try {
      data = await response.json();
    } catch (error) {
      // An HTML page instead of JSON: the login page after the session ended, or a server error.
      throw new Error(
        response.redirected
          ? "Your session has ended: reload the page and sign in again. Nothing was changed."
          : `The server answered ${response.status} without an explanation.`,
      );
    }
    if (!response.ok) {
      const where = data.field ? ` (${data.field})` : "";
      throw new Error((data.error || `The server answered ${response.status}.`) + where);
    }
    return data;
  }

  function say(text, kind = "info") {
    const box = $("#wb-message");
    box.textContent = text;
    box.className = `wb-message wb-${kind}`;
    box.hidden = false;
  }

  // A row's button is redrawn with its table after every change, and the focus fell to the
  // page's top: a keyboard user lost their place after each Accept. The place is kept instead:
  // the same row if it is still listed (Unmatch), else the row that took its place (Accept).
  function focusPlace() {
    const active = document.activeElement;
    const row = active && active.closest ? active.closest("tbody[id^=rows-] tr[data-id]") : null;
    if (!row) return null;
    const rows = [...row.parentElement.querySelectorAll("tr[data-id]")];
    return { body: row.parentElement.id, id: row.dataset.id, index: rows.indexOf(row), label: active.textContent };
  }

  function restoreFocus(place) {
    if (!place || (document.activeElement && document.activeElement !== document.body)) return;
    const rows = [...document.querySelectorAll(`#${place.body} tr[data-id]`)];
    const row = rows.find((r) => r.dataset.id === place.id) || rows[Math.min(place.index, rows.length - 1)];
    const name = place.body.replace("rows-", "");
    if (!row) {
      // The table emptied: its own control, so the keyboard stays in the pane.
      ($(`#status-${name}`) || $("#select-all-suggestions"))?.focus();
      return;
    }
    const usable = [...row.querySelectorAll("button, input, a")].filter((node) => !node.disabled);
    const target = usable.find((node) => node.tagName === "BUTTON" && node.textContent === place.label) || usable.find((node) => node.tagName === "BUTTON") || usable[0];
    if (target) target.focus();
    state.panes[name].cursor = rows.indexOf(row);
    markCursor();
  }

  async function attempt(work) {
    root.dataset.state = "busy";
    const place = focusPlace();
    try {
      const answer = await work();
      if (answer && answer.message) say(answer.message, answer.refused && answer.refused.length ? "warning" : "success");
      return answer;
    } catch (error) {
      say(error.message, "error");
      return null;
    } finally {
      await refresh();
      restoreFocus(place);
    }
  }

  // --- Loading -------------------------------------------------------------------

  async function loadSummary() {
    const s = await api("summary");
    state.summary = s;
    state.finalized = s.finalized;
    $("#sum-statement").textContent = money(s.statement_closing_balance);
    $("#sum-book").textContent = money(s.book_closing_balance);
    const variance = $("#sum-variance");
    variance.textContent = s.variance === null ? "no statement" : money(s.variance);
    variance.dataset.zero = s.variance !== null && cents(s.variance) === 0 ? "yes" : "no";
    $("#sum-status").textContent = s.status.replace(/_/g, " ");
    $("#sum-matched").textContent = `${s.matched_count} (${money(s.matched_amount)})`;
    $("#sum-suggested").textContent = s.suggested_count;
    $("#sum-open-lines").textContent = `${s.unmatched_line_count} (${money(s.unmatched_line_total)})`;
    $("#sum-open-books").textContent = `${s.unmatched_book_count} (${money(s.unmatched_book_total)})`;
    const snap = s.snapshot;
    $("#sum-snapshot").textContent = !snap
      ? "not started"
      : snap.status === "finalized"
        ? `signed off by ${snap.approved_by} on ${snap.approved_on}`
        : `draft (prepared by ${snap.prepared_by || "—"})`;
    root.classList.toggle("wb-finalized", s.finalized);
  }

  async function loadPane(name) {
    const pane = state.panes[name];
    const params = { ...state.filters, page: pane.page, status: pane.status };
    const data = await api(name, { params });
    pane.rows = data.results;
    pane.page = data.page;
    pane.cursor = Math.min(pane.cursor, Math.max(0, pane.rows.length - 1));
    $(`#count-${name}`).textContent = `(${data.count})`;
    renderPager(name, data);
    RENDER[name](pane.rows);
    markCursor();
    applyPermissions();
  }

  async function refresh() {
    root.dataset.state = "busy";
    try {
      // The summary first: whether the month is signed off decides what the rows offer.
      await loadSummary();
      await Promise.all(PANES.map(loadPane));
    } catch (error) {
      say(error.message, "error");
    }
    applyPermissions();
    updateSelection();
    root.dataset.state = "ready";
  }

  // --- Rendering -------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function checkbox(name, id, amount, enabled = true) {
    const box = el("input", { type: "checkbox", "aria-label": `select ${id}` });
    box.checked = state.selected[name].has(id);
    // A signed-off month takes no change: nothing to select for one.
    box.disabled = !enabled || state.finalized;
    box.addEventListener("change", () => toggle(name, id, amount, box.checked));
    return box;
  }

  function link(template, id) {
    return el("a", { href: template.replace("__id__", encodeURIComponent(id)), target: "_blank", text: id });
  }

  // A statement line's id is generated and says nothing: its text is the link; a book item shows its id.
  function side(items, template, byText = false) {
    return el(
      "td",
      {},
      ...items.map((item) => {
        const name = byText && item.text ? el("a", { href: template.replace("__id__", encodeURIComponent(item.id)), target: "_blank", title: item.id, text: item.text }) : link(template, item.id);
        return el("div", {}, `${item.date} `, el("span", { class: "money", text: money(item.amount) }), " ", name, byText || !item.text ? "" : ` ${item.text}`);
      }),
    );
  }

  const RENDER = {
    suggestions(rows) {
      const body = $("#rows-suggestions");
      body.replaceChildren(
        ...rows.map((row) =>
          el(
            "tr",
            { "data-id": row.match_id },
            el("td", {}, checkbox("suggestions", row.match_id, 0, config.can_match)),
            el("td", { class: "num" }, el("span", { class: "wb-score", text: row.score })),
            side(row.lines, config.line_url, true),
            side(row.books, config.transaction_url),
            el("td", { class: "wb-reason", text: row.reason }),
            el(
              "td",
              { class: "wb-row-actions" },
              el("button", { type: "button", class: "button", "data-needs": "match", text: "Accept", onclick: () => decide("accept", [row.match_id]) }),
              el("button", { type: "button", class: "button", "data-needs": "match", text: "Reject", onclick: () => decide("reject", [row.match_id]) }),
            ),
          ),
        ),
      );
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "wb-empty", text: "No open suggestions." })));
      $("#select-all-suggestions").checked = rows.length > 0 && rows.every((row) => state.selected.suggestions.has(row.match_id));
    },

    lines(rows) {
      const body = $("#rows-lines");
      body.replaceChildren(
        ...rows.map((row) => {
          const open = row.status !== "matched";
          const best = row.suggestions[0];
          const status = el("td", {}, el("span", { class: `wb-badge wb-${row.status}`, text: row.status }));
          if (best) status.append(" ", el("span", { class: "wb-score", title: best.reason, text: best.score }));
          if (!open && row.matched.length) {
            const links = row.matched.flatMap((m, i) => [...(i ? [", "] : []), link(config.transaction_url, m.transaction_id)]);
            status.append(el("div", { class: "wb-small", title: row.matched[0].reason }, "→ ", ...links));
          }
          const actions = el("td", { class: "wb-row-actions" });
          if (open) {
            actions.append(el("button", { type: "button", class: "button", "data-needs": "match", text: "Record…", title: "Record a bank transaction from this line (n)", onclick: () => openCreate(row) }));
          } else {
            actions.append(el("button", { type: "button", class: "button", "data-needs": "match", text: "Unmatch", onclick: () => unmatch(row.id) }));
          }
          return el(
            "tr",
            { "data-id": row.id },
            el("td", {}, checkbox("lines", row.id, cents(row.amount), open && config.can_match)),
            el("td", { text: row.date }),
            el("td", { class: "num money", text: money(row.amount) }),
            el("td", {}, el("div", { text: row.counterparty || row.reference }), el("div", { class: "wb-small", text: row.narrative })),
            status,
            actions,
          );
        }),
      );
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "wb-empty", text: "No statement lines here." })));
    },

    books(rows) {
      const body = $("#rows-books");
      body.replaceChildren(
        ...rows.map((row) =>
          el(
            "tr",
            { "data-id": row.id },
            el("td", {}, checkbox("books", row.id, cents(row.amount), row.status === "unreconciled" && config.can_match)),
            el("td", { text: row.date }),
            el("td", { class: "num money", text: money(row.amount) }),
            el("td", {}, el("div", {}, link(config.transaction_url, row.id), ` ${row.counterparty || row.reference}`), el("div", { class: "wb-small", text: row.description ? `${row.type}: ${row.description}` : row.type })),
            el("td", { class: "wb-small", text: row.dimensions || "unassigned" }),
            el("td", { class: "wb-small", text: `${row.posting_status}, ${row.status}` }),
          ),
        ),
      );
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "wb-empty", text: "No book transactions here." })));
    },
  };

  function renderPager(name, data) {
    const nav = document.querySelector(`.wb-pager[data-for=${name}]`);
    const go = (page) => () => {
      state.panes[name].page = page;
      loadPane(name).catch((error) => say(error.message, "error"));
    };
    nav.replaceChildren(
      el("button", { type: "button", class: "button", text: "‹ Previous", onclick: go(data.page - 1), ...(data.page <= 1 ? { disabled: "" } : {}) }),
      ` page ${data.page} of ${data.pages} (${data.count}) `,
      el("button", { type: "button", class: "button", text: "Next ›", onclick: go(data.page + 1), ...(data.page >= data.pages ? { disabled: "" } : {}) }),
    );
  }

  function markCursor() {
    for (const name of PANES) {
      const rows = document.querySelectorAll(`#rows-${name} tr[data-id]`);
      rows.forEach((row, index) => {
        row.classList.toggle("wb-cursor", name === state.active && index === state.panes[name].cursor);
        row.classList.toggle("wb-selected", state.selected[name].has(row.dataset.id));
      });
      document.getElementById(`pane-${name}`).classList.toggle("wb-active", name === state.active);
    }
  }

  function applyPermissions() {
    for (const node of root.querySelectorAll("[data-needs]")) {
      const allowed = node.dataset.needs === "finalize" ? config.can_finalize : config.can_match;
      if (!allowed) node.title = "You do not have the permission for this.";
      if (node.id !== "wb-match") node.disabled = !allowed || state.finalized;
    }
  }

  // --- Selection -------------------------------------------------------------------

  function toggle(name, id, amount, on) {
    if (on) state.selected[name].set(id, amount);
    else state.selected[name].delete(id);
    updateSelection();
    markCursor();
  }

  function updateSelection() {
    const sum = (map) => [...map.values()].reduce((a, b) => a + b, 0);
    const lines = sum(state.selected.lines);
    const books = sum(state.selected.books);
    $("#sel-lines").textContent = state.selected.lines.size;
    $("#sel-books").textContent = state.selected.books.size;
    $("#sel-lines-total").textContent = money(lines);
    $("#sel-books-total").textContent = money(books);
    $("#sel-difference").textContent = money(lines - books);
    const ready =
      state.selected.lines.size > 0 &&
      state.selected.books.size > 0 &&
      lines === books &&
      !(state.selected.lines.size > 1 && state.selected.books.size > 1);
    $("#wb-match").disabled = !ready || !config.can_match || state.finalized;
    $("#wb-selection").dataset.balanced = ready ? "yes" : "no";
  }

  function clearSelection() {
    for (const name of PANES) state.selected[name].clear();
    for (const box of root.querySelectorAll(".wb-table input[type=checkbox]")) box.checked = false;
    updateSelection();
    markCursor();
  }

  // --- Actions ----------------------------------------------------------------------

  function decide(verb, ids) {
    if (!ids.length) {
      say("Select the suggestions first (x), or put the cursor on one.", "warning");
      return;
    }
    attempt(async () => {
      const answer = await api(verb, { method: "POST", body: { match_ids: ids } });
      for (const id of answer.done) state.selected.suggestions.delete(id);
      return answer;
    });
  }

  function selectedOrCursor(name) {
    if (state.selected[name].size) return [...state.selected[name].keys()];
    const row = state.panes[name].rows[state.panes[name].cursor];
    return row ? [row.match_id || row.id] : [];
  }

  function matchSelected() {
    if ($("#wb-match").disabled) {
      say("Select statement lines and book items whose totals are equal (one line to many items, or many lines to one item).", "warning");
      return;
    }
    attempt(async () => {
      const answer = await api("match", {
        method: "POST",
        body: { statement_line_ids: [...state.selected.lines.keys()], transaction_ids: [...state.selected.books.keys()] },
      });
      state.selected.lines.clear();
      state.selected.books.clear();
      return answer;
    });
  }

  function unmatch(lineId) {
    attempt(() => api("unmatch", { method: "POST", body: { statement_line_ids: [lineId] } }));
  }

  function fillSelect(select, options, blank) {
    select.replaceChildren(...(blank ? [el("option", { value: "", text: blank })] : []), ...options.map((o) => el("option", { value: o.value, text: o.label })));
  }

  let creating = null;

  function openCreate(row) {
    if (!row || row.status === "matched") {
      say("Put the cursor on an open statement line first.", "warning");
      return;
    }
    creating = row;
    const direction = cents(row.amount) > 0 ? "in" : "out";
    const types = config.transaction_types.filter((t) => !t.direction || t.direction === direction);
    fillSelect($("#create-type"), types);
    $("#create-type").value = direction === "out" ? "fee" : "interest";
    $("#create-line").textContent = `${row.date}  ${money(row.amount)}  ${row.counterparty || ""} ${row.narrative}`;
    $("#create-description").value = row.narrative.slice(0, 255);
    $("#create-post-row").hidden = !config.can_post;
    $("#create-post").checked = config.can_post;
    $("#create-error").hidden = true;
    $("#dlg-create").showModal();
    $("#create-type").focus();
  }

  async function submitCreate(event) {
    event.preventDefault();
    const body = {
      statement_line_id: creating.id,
      transaction_type: $("#create-type").value,
      cost_center_id: $("#create-cost-center").value,
      project_id: $("#create-project").value,
      department_id: $("#create-department").value,
      branch_id: $("#create-branch").value,
      description: $("#create-description").value,
      post: config.can_post && $("#create-post").checked,
    };
    try {
      const answer = await api("create-transaction", { method: "POST", body });
      $("#dlg-create").close();
      state.selected.lines.delete(creating.id);
      say(answer.message, "success");
      await refresh();
    } catch (error) {
      const box = $("#create-error");
      box.textContent = error.message;
      box.hidden = false;
    }
  }

  function openFinalize() {
    if (!config.can_finalize || state.finalized) return;
    const s = state.summary;
    $("#finalize-figures").textContent = s
      ? `Statement ${money(s.statement_closing_balance)}, book ${money(s.book_closing_balance)}, variance ${s.variance === null ? "—" : money(s.variance)}; ${s.unmatched_line_count} line(s) and ${s.unmatched_book_count} book item(s) still open.`
      : "";
    $("#finalize-error").hidden = true;
    $("#dlg-finalize").showModal();
  }

  async function submitFinalize(event) {
    event.preventDefault();
    try {
      const answer = await api("finalize", { method: "POST", body: { note: $("#finalize-note").value } });
      $("#dlg-finalize").close();
      say(answer.message, "success");
      await refresh();
    } catch (error) {
      const box = $("#finalize-error");
      box.textContent = error.message;
      box.hidden = false;
    }
  }

  // --- Keyboard ----------------------------------------------------------------------

  function move(step) {
    const pane = state.panes[state.active];
    pane.cursor = Math.max(0, Math.min(pane.rows.length - 1, pane.cursor + step));
    markCursor();
    const row = document.querySelectorAll(`#rows-${state.active} tr[data-id]`)[pane.cursor];
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function toggleCursor() {
    const row = document.querySelectorAll(`#rows-${state.active} tr[data-id]`)[state.panes[state.active].cursor];
    const box = row && row.querySelector("input[type=checkbox]");
    if (box && !box.disabled) box.click();
  }

  function page(step) {
    const pane = state.panes[state.active];
    const next = pane.page + step;
    if (next < 1) return;
    pane.page = next;
    loadPane(state.active).catch((error) => say(error.message, "error"));
  }

  // The changing shortcuts say why nothing happens in a signed-off month, rather than a hint
  // about selecting (m), a dialog whose save is always refused (n), or nothing at all (u, g).
  function unlessSignedOff(change) {
    return () => {
      if (state.finalized) {
        say(`This month is ${$("#sum-snapshot").textContent}: it takes no change.`, "warning");
        return;
      }
      change();
    };
  }

  const KEYS = {
    "/": () => $("#f-text").focus(),
    "?": () => $("#dlg-help").showModal(),
    1: () => activate("suggestions"),
    2: () => activate("lines"),
    3: () => activate("books"),
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    x: toggleCursor,
    " ": toggleCursor,
    a: unlessSignedOff(() => config.can_match && decide("accept", selectedOrCursor("suggestions"))),
    r: unlessSignedOff(() => config.can_match && decide("reject", selectedOrCursor("suggestions"))),
    m: unlessSignedOff(() => config.can_match && matchSelected()),
    n: unlessSignedOff(() => config.can_match && openCreate(state.panes.lines.rows[state.panes.lines.cursor])),
    u: unlessSignedOff(() => {
      const row = state.panes.lines.rows[state.panes.lines.cursor];
      if (config.can_match && row && row.status === "matched") unmatch(row.id);
    }),
    "[": () => page(-1),
    "]": () => page(1),
    g: unlessSignedOff(() => config.can_match && attempt(() => api("run-matcher", { method: "POST" }))),
    F: openFinalize,
    Escape: clearSelection,
  };

  const SELECT_KEYS = new Set(["ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown", " ", "Enter"]);

  function activate(name) {
    state.active = name;
    markCursor();
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    // A list keeps the keys that move through it; any other key is a shortcut (its type-ahead
    // took "a" for "All" instead of accepting the suggestion).
    const choosing = target.matches("select") && SELECT_KEYS.has(event.key);
    const typing = target.matches("input:not([type=checkbox]), textarea") || choosing;
    if (document.querySelector("dialog[open]") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("select") && event.key === "Escape") target.blur();
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const handler = KEYS[event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });

  // --- Wiring -----------------------------------------------------------------------

  fillSelect($("#create-cost-center"), config.cost_centers, "— unassigned —");
  fillSelect($("#create-project"), config.projects, "— unassigned —");
  fillSelect($("#create-department"), config.departments, "— unassigned —");
  fillSelect($("#create-branch"), config.branches, "— none —");

  $("#wb-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = Object.fromEntries(new FormData(event.target).entries());
    for (const name of PANES) state.panes[name].page = 1;
    refresh();
  });
  $("#wb-filters").addEventListener("reset", () => {
    state.filters = {};
    for (const name of PANES) state.panes[name].page = 1;
    setTimeout(refresh, 0);
  });
  for (const name of ["lines", "books"]) {
    $(`#status-${name}`).addEventListener("change", (event) => {
      state.panes[name].status = event.target.value;
      state.panes[name].page = 1;
      activate(name);
      loadPane(name).catch((error) => say(error.message, "error"));
    });
  }
  for (const name of PANES) {
    document.getElementById(`pane-${name}`).addEventListener("click", (event) => {
      state.active = name;
      const row = event.target.closest("tr[data-id]");
      if (row) state.panes[name].cursor = [...row.parentNode.querySelectorAll("tr[data-id]")].indexOf(row);
      markCursor();
    });
  }
  $("#select-all-suggestions").addEventListener("change", (event) => {
    for (const row of state.panes.suggestions.rows) toggle("suggestions", row.match_id, 0, event.target.checked);
    RENDER.suggestions(state.panes.suggestions.rows);
    markCursor();
  });
  $("#wb-accept").addEventListener("click", () => decide("accept", [...state.selected.suggestions.keys()]));
  $("#wb-reject").addEventListener("click", () => decide("reject", [...state.selected.suggestions.keys()]));
  $("#wb-match").addEventListener("click", matchSelected);
  $("#wb-clear").addEventListener("click", clearSelection);
  $("#wb-run").addEventListener("click", () => attempt(() => api("run-matcher", { method: "POST" })));
  $("#wb-finalize").addEventListener("click", openFinalize);
  $("#wb-help-button").addEventListener("click", () => $("#dlg-help").showModal());
  $("#form-create").addEventListener("submit", submitCreate);
  $("#create-cancel").addEventListener("click", () => $("#dlg-create").close());
  $("#form-finalize").addEventListener("submit", submitFinalize);
  $("#finalize-cancel").addEventListener("click", () => $("#dlg-finalize").close());
  function goToMonth() {
    const value = $("#wb-period").value;
    if (/^\d{4}-\d{2}$/.test(value) && value !== config.period) {
      window.location.pathname = window.location.pathname.replace(/\/reconcile\/[^/]+\/$/, `/reconcile/${value}/`);
    }
  }
  $("#wb-period").addEventListener("change", goToMonth);
  $("#wb-period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    goToMonth();
  });

  refresh();
})();
