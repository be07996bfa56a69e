// kaigai widgets: one ES module for every widget of the book (anywidget's render(model, el)).
// Python (kaigai_lib/teaching/static_widgets.py) precomputes a view for every setting of the controls and, in the
// public edition, an answer key per setting; this module draws the view of the current setting and judges
// typed answers with no kernel. In a live kernel, a setting that was not precomputed arrives in `live`.
// Every text a reader sees follows the page's language: t(text, fields) gives the translation from the catalog the
// page carries (<script id="kaigai-widget-messages" data-language="ja">, written by the book's site), or, with no
// such script (Jupyter), from the translations the widget carries (made with KAIGAI_LANGUAGE); "{name}" fields are
// filled after translating. Every string literal given to t below is a message of locales/<language>/LC_MESSAGES/widgets.po.
const CORRECT = "#1a7f37";
const WRONG = "#b3261e";

function node(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

export function translator(spec, doc = document) {
  const script = doc.getElementById("kaigai-widget-messages");
  const pageLanguage = (doc.documentElement.lang || "en").split("-")[0].toLowerCase();
  const language = script ? (script.dataset.language || pageLanguage) : (spec.language || pageLanguage);
  let messages = {};
  if (script) {
    try { messages = JSON.parse(script.textContent || "{}"); }
    catch (error) { console.warn("kaigai widgets: the page's message catalog is not JSON", error); }
  }
  messages = { ...messages, ...((spec.translations || {})[language] || {}) };
  const t = (text, fields) => {
    const raw = String(text ?? "");
    let out = (language !== "en" && (messages[raw] || messages[raw.trim()])) || raw;
    if (fields) out = out.replace(/\{(\w+)\}/g, (whole, name) => (name in fields ? String(fields[name]) : whole));
    return out;
  };
  t.language = language;
  return t;
}

// A view's texts with numbers in them (kaigai_lib.teaching.static_widgets.msg): the template translated, the numbers kept
function translateView(view, t) {
  if (t.language === "en") return;
  // one at a time, outer first: a translated template brings its fields' own templates back in as new nodes
  let span;
  while ((span = view.querySelector("[data-kaigai-msg]:not([data-kaigai-done])"))) {
    span.dataset.kaigaiDone = "";
    let fields = {};
    try { fields = JSON.parse(span.dataset.kaigaiArgs || "{}"); } catch (error) { continue; }
    const template = span.dataset.kaigaiMsg;
    if (t(template) !== template) span.innerHTML = t(template, fields);
  }
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

const ENGLISH = (text, fields) => (fields ? text.replace(/\{(\w+)\}/g, (w, name) => String(fields[name] ?? w)) : text);
ENGLISH.language = "en";

// The same rules as kaigai_lib.teaching.static_widgets.judge (the tests compare the two); messages in t's language
export function judge(answer, key, unit, t = ENGLISH) {
  const shownUnit = unit ? t(unit) : "";
  if (!Number.isFinite(answer)) {
    return { correct: false, verdict: "not a number",
      message: unit ? t("Enter a number (in {unit}).", { unit: shownUnit }) : t("Enter a number.") };
  }
  const within = (a, b, tol) => Math.abs(a - b) <= tol * (1 + 1e-9) + 1e-12;
  const fields = { answer: withUnit(answer, shownUnit), tolerance: withUnit(key.tolerance, shownUnit),
    truth: withUnit(key.truth, shownUnit) };
  if (within(answer, key.truth, key.tolerance)) {
    return { correct: true, verdict: "correct",
      message: t("Correct: {answer} is within ±{tolerance} of the true value, {truth}.", fields) };
  }
  for (const slip of key.slips || []) {
    if (within(answer, slip.value, slip.tolerance)) return { correct: false, verdict: slip.verdict, message: t(slip.message) };
  }
  const high = answer > key.truth;
  return { correct: false, verdict: high ? "too high" : "too low",
    message: high ? t("Too high: {answer} is more than {tolerance} above the true value.", fields)
      : t("Too low: {answer} is more than {tolerance} below the true value.", fields) };
}

let widgetCount = 0;

function render({ model, el }) {
  widgetCount += 1;
  const radioGroup = `kaigai-choice-${widgetCount}`;
  const spec = model.get("setup");
  const t = translator(spec);
  const root = node("div", { class: "kaigai-widget", "data-kaigai-widget": spec.kind || "widget", lang: t.language });
  if (spec.title) root.append(node("p", { class: "kaigai-title" }, t(spec.title)));
  if (spec.intro) { const p = node("div", { class: "kaigai-intro" }); p.innerHTML = t(spec.intro); root.append(p); }

  const controls = node("div", { class: "kaigai-controls" });
  const inputs = {};
  for (const c of spec.controls) {
    const row = node("label", { class: "kaigai-control" });
    const label = t(c.label);
    row.append(node("span", { class: "kaigai-control-label" }, label));
    let input;
    const shown = node("output", { class: "kaigai-control-value" });
    if (c.kind === "select") {
      input = node("select", { "data-control": c.name, "aria-label": label });
      c.options.forEach((o, i) => input.append(node("option", { value: o }, t((c.option_labels || c.options)[i]))));
    } else {
      input = node("input", { type: "range", min: "0", max: String(c.options.length - 1), step: "1",
        "data-control": c.name, "aria-label": label });
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
    if (check.question) { const q = node("div", { class: "kaigai-question" }); q.innerHTML = t(check.question); box.append(q); }
    const row = node("div", { class: "kaigai-answer-row" });
    let answerInput;
    if (check.choices) {
      answerInput = node("div", { class: "kaigai-choices", role: "radiogroup" });
      check.choices.forEach((choice, i) => {
        const item = node("label", { class: "kaigai-choice" });
        const radio = node("input", { type: "radio", name: radioGroup, value: String(i) });
        item.append(radio, document.createTextNode(" " + t(choice)));
        answerInput.append(item);
      });
      box.append(answerInput);
    } else {
      answerInput = node("input", { type: "text", class: "kaigai-answer", inputmode: "decimal",
        "aria-label": t("Answer"), placeholder: t("your answer") });
      row.append(node("span", {}, t("Answer: ")), answerInput,
        node("span", { class: "kaigai-unit" }, check.unit ? t(check.unit) : ""));
    }
    const button = node("button", { type: "button", class: "kaigai-check-button" }, t("Check"));
    row.append(button);
    const hintButton = node("button", { type: "button", class: "kaigai-hint-button" }, t("Hint"));
    if ((check.hints || []).length) row.append(hintButton);
    box.append(row);
    feedback = node("div", { class: "kaigai-feedback", "aria-live": "polite" });
    hintBox = node("div", { class: "kaigai-hints" });
    box.append(feedback, hintBox);
    root.append(box);

    const revealHint = () => {
      if (shownHints >= (check.hints || []).length) return;
      const h = node("p", { class: "kaigai-hint" });
      h.innerHTML = t("Hint {number}: ", { number: shownHints + 1 }) + t(check.hints[shownHints]);
      hintBox.append(h);
      shownHints += 1;
    };
    hintButton.addEventListener("click", revealHint);
    button.addEventListener("click", () => {
      const key = currentKey();
      let result;
      if (check.choices) {
        const picked = answerInput.querySelector("input:checked");
        if (!picked) result = { correct: false, verdict: "no choice", message: t("Pick one answer.") };
        else if (key) {
          const i = Number(picked.value);
          const whyNot = (key.why_not || {})[i];
          result = i === key.choice
            ? { correct: true, verdict: "correct", message: t("Correct.") + " " + (key.explanation ? t(key.explanation) : "") }
            : { correct: false, verdict: "wrong", message: whyNot ? t(whyNot) : t("Not this one: think again.") };
        }
      } else if (key) {
        result = judge(parseAnswer(answerInput.value), key, check.unit || "", t);
      }
      if (!key) {  // the course edition: no truth in the page
        feedback.replaceChildren(node("p", { class: "kaigai-submit", "data-verdict": "submit" }, t(check.submit)));
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
      else { input.value = String(Math.max(0, control.options.indexOf(label))); shown.textContent = t(label); }
    }
    const key = settingKey(spec, values);
    const live = model.get("live") || {};
    const v = (model.get("views") || {})[key] || (live.key === key ? live.view : null);
    view.dataset.setting = key;
    view.innerHTML = v ? v.html : `<p><i>${t("Computing…")}</i></p>`;
    translateView(view, t);
    if (lastKey !== null && key !== lastKey && feedback && feedback.childNodes.length && spec.controls.length) {
      feedback.replaceChildren(node("p", { "data-verdict": "changed" },
        t("The setting has changed: compute your answer again and press Check.")));
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
