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

// A typed answer: { value } or { value: NaN, why, fields } (a message of the catalog). The rules of
// kaigai_lib.exercises.spec.parse_number (the tests compare the two), plus a Unicode minus: a trailing "%" only
// where the unit is %; commas every three digits are thousands separators for a count (unit firms or
// establishments) or where no other reading exists (12,345,678 / 1,234.5); "1,234" otherwise has two readings and
// is refused; any other comma ("0,12", "1,2%") is refused, never dropped.
const COUNT_UNITS = ["firms", "establishments"];
const THOUSANDS = /^[-+]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?$/;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export function readAnswer(text, unit = "") {
  let cleaned = String(text).trim().replace(/\u2212/g, "-");
  const refuse = (why, fields = {}) => ({ value: NaN, why, fields });
  if (cleaned.endsWith("%")) {
    if (!unit.startsWith("%")) return refuse("percent", { unit });
    cleaned = cleaned.slice(0, -1).trim();
  }
  if (THOUSANDS.test(cleaned)) {
    const digits = cleaned.replace(/,/g, "");
    if (!(COUNT_UNITS.includes(unit) || cleaned.split(",").length > 2 || cleaned.includes("."))) {
      return refuse("two readings", { answer: cleaned, thousands: digits, decimal: cleaned.replace(",", ".") });
    }
    cleaned = digits;
  }
  if (NUMBER.test(cleaned)) {
    const value = Number(cleaned);
    return Number.isFinite(value) && Math.abs(value) < 1e100 ? { value } : refuse("");
  }
  if (/^[-+]?\d+,\d+$/.test(cleaned)) return refuse("decimal comma");
  if (cleaned.includes(",")) return refuse("comma");
  return refuse("");
}

// Why an answer was not read (readAnswer's why), in t's language
function unreadable(why, fields, t) {
  const unit = fields.unit ? t(fields.unit) : t("the unit asked for");
  if (why === "percent") return t("The answer is in {unit}, not in %: leave out the % sign.", { unit });
  if (why === "two readings") return t("{answer} reads as {thousands} (a thousands separator) or as {decimal} (a decimal comma): write it without the comma.", fields);
  if (why === "decimal comma") return t("Use a decimal point, not a decimal comma: e.g. 0.15.");
  return t("A comma here is neither a decimal point nor a thousands separator (1,234,567): write a plain number, e.g. 0.15.");
}

// the number of an answer, or NaN (see readAnswer)
export function parseAnswer(text, unit = "") {
  return readAnswer(text, unit).value;
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
        const read = readAnswer(answerInput.value, check.unit || "");
        result = judge(read.value, key, check.unit || "", t);
        if (read.why) result = { ...result, message: unreadable(read.why, read.fields, t) };  // a comma or % sign
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
