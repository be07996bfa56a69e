// kaigai widgets: one ES module for every widget of the book (anywidget's render(model, el)).
// Python (kaigai_lib/static_widgets.py) precomputes a view for every setting of the controls and, in the
// public edition, an answer key per setting; this module draws the view of the current setting and judges
// typed answers with no kernel. In a live kernel, a setting that was not precomputed arrives in `live`.
const CORRECT = "#1a7f37";
const WRONG = "#b3261e";

function node(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function settingKey(spec, values) {
  return spec.controls.map((c) => values[c.name]).join("|");
}

// "0.12", "+0.12", "−0.12" (a Unicode minus), "12 %", "1,234.5": a number, or NaN
export function parseAnswer(text) {
  const cleaned = String(text).trim().replace(/\u2212/g, "-").replace(/,/g, "").replace(/%$/, "").trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) return NaN;
  return Number(cleaned);
}

function withUnit(value, unit) {
  const v = String(Number(value.toPrecision(6)));
  if (!unit) return v;
  return unit.startsWith("%") ? v + unit : `${v} ${unit}`;
}

// The same rules as kaigai_lib.teaching.static_widgets.judge (the tests compare the two)
export function judge(answer, key, unit) {
  if (!Number.isFinite(answer)) {
    return { correct: false, verdict: "not a number", message: `Enter a number${unit ? ` (in ${unit})` : ""}.` };
  }
  const within = (a, b, tol) => Math.abs(a - b) <= tol * (1 + 1e-9) + 1e-12;
  const tol = withUnit(key.tolerance, unit);
  if (within(answer, key.truth, key.tolerance)) {
    return { correct: true, verdict: "correct",
      message: `Correct: ${withUnit(answer, unit)} is within ±${tol} of the true value, ${withUnit(key.truth, unit)}.` };
  }
  for (const slip of key.slips || []) {
    if (within(answer, slip.value, slip.tolerance)) return { correct: false, verdict: slip.verdict, message: slip.message };
  }
  const high = answer > key.truth;
  const verdict = high ? "too high" : "too low";
  return { correct: false, verdict,
    message: `${high ? "Too high" : "Too low"}: ${withUnit(answer, unit)} is more than ${tol} ${high ? "above" : "below"} the true value.` };
}

let widgetCount = 0;

function render({ model, el }) {
  widgetCount += 1;
  const radioGroup = `kaigai-choice-${widgetCount}`;
  const spec = model.get("setup");
  const root = node("div", { class: "kaigai-widget", "data-kaigai-widget": spec.kind || "widget" });
  if (spec.title) root.append(node("p", { class: "kaigai-title" }, spec.title));
  if (spec.intro) { const p = node("div", { class: "kaigai-intro" }); p.innerHTML = spec.intro; root.append(p); }

  const controls = node("div", { class: "kaigai-controls" });
  const inputs = {};
  for (const c of spec.controls) {
    const row = node("label", { class: "kaigai-control" });
    row.append(node("span", { class: "kaigai-control-label" }, c.label));
    let input;
    const shown = node("output", { class: "kaigai-control-value" });
    if (c.kind === "select") {
      input = node("select", { "data-control": c.name, "aria-label": c.label });
      c.options.forEach((o, i) => input.append(node("option", { value: o }, (c.option_labels || c.options)[i])));
    } else {
      input = node("input", { type: "range", min: "0", max: String(c.options.length - 1), step: "1",
        "data-control": c.name, "aria-label": c.label });
      row.append(input, shown);
    }
    if (c.kind === "select") row.append(input);
    inputs[c.name] = { input, shown, control: c };
    input.addEventListener(c.kind === "select" ? "change" : "input", () => {
      const label = c.kind === "select" ? input.value : c.options[Number(input.value)];
      model.set("values", { ...model.get("values"), [c.name]: label });
      model.save_changes();
      draw();
    });
    controls.append(row);
  }
  if (spec.controls.length) root.append(controls);
  const view = node("div", { class: "kaigai-view", "aria-live": "polite" });
  root.append(view);

  // --- the answer box (exercises and concept checks)
  let feedback = null, hintBox = null, wrong = 0, shownHints = 0;
  const check = spec.check;
  if (check) {
    const box = node("div", { class: "kaigai-check" });
    if (check.question) { const q = node("div", { class: "kaigai-question" }); q.innerHTML = check.question; box.append(q); }
    const row = node("div", { class: "kaigai-answer-row" });
    let answerInput;
    if (check.choices) {
      answerInput = node("div", { class: "kaigai-choices", role: "radiogroup" });
      check.choices.forEach((choice, i) => {
        const item = node("label", { class: "kaigai-choice" });
        const radio = node("input", { type: "radio", name: radioGroup, value: String(i) });
        item.append(radio, document.createTextNode(" " + choice));
        answerInput.append(item);
      });
      box.append(answerInput);
    } else {
      answerInput = node("input", { type: "text", class: "kaigai-answer", inputmode: "decimal",
        "aria-label": "Answer", placeholder: "your answer" });
      row.append(node("span", {}, "Answer: "), answerInput, node("span", { class: "kaigai-unit" }, check.unit || ""));
    }
    const button = node("button", { type: "button", class: "kaigai-check-button" }, "Check");
    row.append(button);
    const hintButton = node("button", { type: "button", class: "kaigai-hint-button" }, "Hint");
    if ((check.hints || []).length) row.append(hintButton);
    box.append(row);
    feedback = node("div", { class: "kaigai-feedback", "aria-live": "polite" });
    hintBox = node("div", { class: "kaigai-hints" });
    box.append(feedback, hintBox);
    root.append(box);

    const revealHint = () => {
      if (shownHints >= (check.hints || []).length) return;
      const h = node("p", { class: "kaigai-hint" });
      h.innerHTML = `Hint ${shownHints + 1}: ` + check.hints[shownHints];
      hintBox.append(h);
      shownHints += 1;
    };
    hintButton.addEventListener("click", revealHint);
    button.addEventListener("click", () => {
      const key = currentKey();
      let result;
      if (check.choices) {
        const picked = answerInput.querySelector("input:checked");
        if (!picked) result = { correct: false, verdict: "no choice", message: "Pick one answer." };
        else if (key) {
          const i = Number(picked.value);
          result = i === key.choice ? { correct: true, verdict: "correct", message: "Correct. " + (key.explanation || "") }
            : { correct: false, verdict: "wrong", message: (key.why_not || {})[i] || "Not this one: think again." };
        }
      } else if (key) {
        result = judge(parseAnswer(answerInput.value), key, check.unit || "");
      }
      if (!key) {  // the course edition: no truth in the page
        feedback.replaceChildren(node("p", { class: "kaigai-submit", "data-verdict": "submit" }, check.submit));
        return;
      }
      const p = node("p", { "data-verdict": result.verdict });
      p.style.color = result.correct ? CORRECT : WRONG;
      p.append(node("b", {}, result.message));
      feedback.replaceChildren(p);
      if (!result.correct && !["not a number", "no choice"].includes(result.verdict)) {
        wrong += 1;
        if (shownHints < wrong) revealHint();
      }
    });
  }

  function currentKey() {
    const key = settingKey(spec, model.get("values"));
    const keys = model.get("answer_keys") || {};
    if (keys[key]) return keys[key];
    const live = model.get("live") || {};
    return live.key === key ? live.answer_key || null : null;
  }

  let lastKey = null;
  function draw() {
    const values = model.get("values");
    for (const { input, shown, control } of Object.values(inputs)) {
      const label = values[control.name];
      if (control.kind === "select") input.value = label;
      else { input.value = String(Math.max(0, control.options.indexOf(label))); shown.textContent = label; }
    }
    const key = settingKey(spec, values);
    const live = model.get("live") || {};
    const v = (model.get("views") || {})[key] || (live.key === key ? live.view : null);
    view.dataset.setting = key;
    view.innerHTML = v ? v.html : "<p><i>Computing…</i></p>";
    if (lastKey !== null && key !== lastKey && feedback && feedback.childNodes.length && spec.controls.length) {
      feedback.replaceChildren(node("p", { "data-verdict": "changed" },
        "The setting has changed: compute your answer again and press Check."));
      wrong = 0;
    }
    lastKey = key;
  }
  model.on("change:values", draw);
  model.on("change:live", draw);
  model.on("change:views", draw);
  draw();
  el.append(root);
  return () => { model.off("change:values", draw); model.off("change:live", draw); model.off("change:views", draw); };
}

export default { render };
