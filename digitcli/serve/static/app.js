// The drawing page: strokes on a canvas, sent as a PNG to /api/predict as you draw; the answer's
// readings and the 28 x 28 digits the model was given are shown beside it. No libraries.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const marks = document.getElementById("marks");  // the boxes of the digits read, over the pad
const strokes = [];          // each stroke: a list of [x, y] in canvas pixels
let photo = null;            // an uploaded image, drawn under the strokes
let drawing = null;          // the stroke under way
let pending = null;          // a prediction request waiting to be sent
let request = null;          // the request in flight: {generation, controller}
// Bumped by every edit that makes earlier answers wrong (a new stroke, Undo, Clear, an upload): an
// answer is shown only if no such edit came after its request, and the edit aborts the request.
let generation = 0;

const LINE = pad.width / 16; // MNIST's strokes are about a tenth of a digit's height

// Where the photo is drawn on the pad: its scale and offset (boxes come in the photo's own pixels).
function photoPlace() {
  const s = Math.min(pad.width / photo.width, pad.height / photo.height);
  return {s, x: (pad.width - photo.width * s) / 2, y: (pad.height - photo.height * s) / 2};
}

function paint() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (photo) {
    const {s, x, y} = photoPlace();
    ctx.drawImage(photo, x, y, photo.width * s, photo.height * s);
  }
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineWidth = LINE;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) {
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], LINE / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = [point(event)];
  strokes.push(drawing);
  edited();
  paint();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  drawing.push(point(event));
  paint();
  schedule(250);  // read while drawing, a few times a second
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => {
    if (!drawing) return;
    drawing = null;
    schedule(0);
  });
}

document.getElementById("undo").addEventListener("click", () => {
  if (strokes.length) strokes.pop(); else photo = null;
  edited();
  paint();
  schedule(0);
});
document.getElementById("clear").addEventListener("click", () => {
  strokes.length = 0;
  photo = null;
  edited();
  paint();
  schedule(0);
});
document.getElementById("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  strokes.length = 0;
  edited();
  const mine = generation;
  photo = await createImageBitmap(file).catch(() => null);
  event.target.value = "";
  if (mine !== generation) return;  // drawn on, or cleared, while the photo was decoding
  paint();
  // The photo itself, read like predict-image; its boxes are in its own pixels, placed as it is drawn.
  send(file, file.type || "application/octet-stream", photoPlace());
});

function edited() {
  generation++;
  drawBoxes([], null);  // the boxes of what was read before this edit
  if (request) request.controller.abort();
  request = null;
  if (!strokes.length && !photo) show(null);  // an empty pad reads as nothing, at once
}

function schedule(delay) {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    if (!strokes.length && !photo) return show(null);
    if (request) return schedule(100);
    const mine = generation;
    pad.toBlob((blob) => { if (mine === generation) send(blob, "image/png", {s: 1, x: 0, y: 0}); }, "image/png");
  }, delay);
}

async function send(body, type, place) {
  const mine = {generation, controller: new AbortController()};
  if (request) request.controller.abort();
  request = mine;
  const current = () => request === mine && mine.generation === generation;
  try {
    const response = await fetch("/api/predict?top_k=3",
                                 {method: "POST", headers: {"Content-Type": type}, body, signal: mine.controller.signal});
    const answer = await response.json();
    if (current()) show(answer, place);
  } catch (error) {
    if (current() && error.name !== "AbortError") show({error: "the server did not answer (" + error.message + ")"});
  } finally {
    if (request === mine) request = null;
  }
}

// Each line's digits boxed on the pad, numbered line.digit when there are several lines.
function drawBoxes(records, place) {
  const g = marks.getContext("2d");
  g.clearRect(0, 0, marks.width, marks.height);
  const lines = records.filter((r) => r.boxes);
  lines.forEach((record, k) => {
    const colour = k % 2 ? "#3a6fd8" : "#c0263a";
    g.strokeStyle = g.fillStyle = colour;
    g.lineWidth = 2;
    g.font = "14px system-ui, sans-serif";
    record.boxes.forEach((b, i) => {
      const x = place.x + b.x * place.s, y = place.y + b.y * place.s;
      g.strokeRect(x, y, b.width * place.s, b.height * place.s);
      const name = lines.length > 1 ? record.line + "." + (i + 1) : String(b.digit);
      g.fillText(name, x, Math.max(12, y - 4));
    });
  });
  marks.dataset.boxes = String(lines.reduce((n, r) => n + r.boxes.length, 0));
}

function show(answer, place) {
  const reading = document.getElementById("reading");
  const top = document.getElementById("top");
  const preview = document.getElementById("preview");
  const error = document.getElementById("error");
  top.replaceChildren();
  preview.replaceChildren();
  preview.dataset.ink = "0";
  error.textContent = "";
  reading.textContent = "";  // empty: the style sheet shows a quiet "draw a digit" in its place
  reading.title = "";
  reading.dataset.lines = "one";
  drawBoxes([], null);
  if (!answer) return;
  const records = answer.records || [];
  const failed = records.find((r) => r.error);
  if (answer.error || failed || !records.length) {
    error.textContent = answer.error || (failed ? failed.error : "nothing was read");
    return;
  }
  const many = records.length > 1;  // a photo of several lines: a record per line, top to bottom
  reading.dataset.lines = many ? "many" : "one";
  reading.textContent = records.map((r) => r.prediction).join("\n");
  reading.title = records.map((r) => "confidence " + (100 * r.confidence).toFixed(1) + "%").join("\n");
  error.textContent = records.filter((r) => r.reason).map((r) => r.reason).join("; ");  // "not a digit: ..."
  drawBoxes(records, place);
  records.forEach((record) => record.top_k.forEach((ranked, i) => {
    const box = document.createElement("div");
    box.className = "digit";
    if (many) box.append("line " + record.line + ", digit " + (i + 1));
    else if (record.top_k.length > 1) box.append("digit " + (i + 1));
    for (const [digit, p] of ranked) {
      const bar = document.createElement("div");
      bar.className = "bar";
      const label = document.createElement("span");
      label.textContent = digit;
      const fill = document.createElement("i");
      fill.style.width = Math.max(2, 160 * p) + "px";
      const value = document.createElement("span");
      value.textContent = (100 * p).toFixed(1) + "%";
      bar.append(label, fill, value);
      box.append(bar);
    }
    top.append(box);
  }));
  let ink = 0;
  for (const digit of answer.prepared || []) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 28;
    const image = canvas.getContext("2d").createImageData(28, 28);
    digit.flat().forEach((v, i) => {
      image.data.set([v, v, v, 255], 4 * i);  // white ink on black, as MNIST and the model see it
      ink += v;
    });
    canvas.getContext("2d").putImageData(image, 0, 0);
    preview.append(canvas);
  }
  preview.dataset.ink = String(ink);
}

fetch("/api/model").then((r) => r.json()).then((m) => {
  const accuracy = m.test && m.test.accuracy ? ", " + (100 * m.test.accuracy).toFixed(2) + "% on MNIST's test set" : "";
  document.getElementById("model").textContent = m.file + " (" + (m.architecture || "keras") + accuracy + ")";
}).catch(() => {});
paint();
