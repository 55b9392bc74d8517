// The drawing page: strokes on a canvas, sent as a PNG to /api/predict as you draw; the answer's
// readings and the 28 x 28 digits the model was given are shown beside it. No libraries.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const strokes = [];          // each stroke: a list of [x, y] in canvas pixels
let photo = null;            // an uploaded image, drawn under the strokes
let drawing = null;          // the stroke under way
let pending = null;          // a prediction request waiting to be sent
let request = null;          // the request in flight: {generation, controller}
// Bumped by every edit that makes earlier answers wrong (a new stroke, Undo, Clear, an upload): an
// answer is shown only if no such edit came after its request, and the edit aborts the request.
let generation = 0;

const LINE = pad.width / 16; // MNIST's strokes are about a tenth of a digit's height

function paint() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (photo) {
    const s = Math.min(pad.width / photo.width, pad.height / photo.height);
    ctx.drawImage(photo, (pad.width - photo.width * s) / 2, (pad.height - photo.height * s) / 2,
                  photo.width * s, photo.height * s);
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
  send(file, file.type || "application/octet-stream");  // the photo itself, read like predict-image
});

function edited() {
  generation++;
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
    pad.toBlob((blob) => { if (mine === generation) send(blob, "image/png"); }, "image/png");
  }, delay);
}

async function send(body, type) {
  const mine = {generation, controller: new AbortController()};
  if (request) request.controller.abort();
  request = mine;
  const current = () => request === mine && mine.generation === generation;
  try {
    const response = await fetch("/api/predict?top_k=3",
                                 {method: "POST", headers: {"Content-Type": type}, body, signal: mine.controller.signal});
    const answer = await response.json();
    if (current()) show(answer);
  } catch (error) {
    if (current() && error.name !== "AbortError") show({error: "the server did not answer (" + error.message + ")"});
  } finally {
    if (request === mine) request = null;
  }
}

function show(answer) {
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
  if (!answer) return;
  const record = answer.records ? answer.records[0] : null;
  if (answer.error || (record && record.error)) {
    error.textContent = answer.error || record.error;
    return;
  }
  reading.textContent = record.prediction;
  reading.title = "confidence " + (100 * record.confidence).toFixed(1) + "%";
  if (record.reason) error.textContent = record.reason;  // "not a digit: ..." beside the "-"
  record.top_k.forEach((ranked, i) => {
    const box = document.createElement("div");
    box.className = "digit";
    if (record.top_k.length > 1) box.append("digit " + (i + 1));
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
  });
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
