// "Teach it your hand" (digitcli serve --collect DIR): keep the drawing with its label (a digit key
// or a label button), see and delete what was kept, fine-tune on it, accept the new model or switch
// back. The section stays hidden unless the server collects. No libraries.
"use strict";

(() => {
  const token = new URLSearchParams(location.search).get("token");
  const auth = token ? {Authorization: "Bearer " + token} : {};
  const withToken = (url) => (token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url);
  const $ = (id) => document.getElementById(id);
  let polling = null;

  async function call(method, url, body, type) {
    const headers = {...auth};
    if (type) headers["Content-Type"] = type;
    const response = await fetch(url, {method, headers, body});
    const answer = await response.json().catch(() => ({error: "the server answered " + response.status}));
    if (!response.ok) throw new Error(answer.error || "the server answered " + response.status);
    return answer;
  }

  function say(text) {
    $("teach-message").textContent = text || "";
  }

  function keep(digit) {
    $("pad").toBlob(async (blob) => {
      try {
        const answer = await call("POST", "/api/samples?label=" + digit, blob, "image/png");
        say("kept as " + digit);
        $("clear").click();  // ready for the next digit
        addThumb(answer.sample);
        showCounts(answer);
      } catch (error) {
        say(error.message);
      }
    }, "image/png");
  }

  function addThumb(sample) {
    const box = document.createElement("figure");
    box.className = "sample";
    box.dataset.id = sample.id;
    const img = document.createElement("img");
    img.src = withToken("/api/samples/" + sample.id + "/drawing");
    img.alt = "a kept " + sample.label;
    img.loading = "lazy";  // up to 10,000 of them
    const caption = document.createElement("figcaption");
    caption.textContent = sample.label;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.title = "delete this sample";
    remove.textContent = "\u00d7";
    remove.addEventListener("click", async () => {
      try {
        showCounts(await call("DELETE", "/api/samples/" + sample.id));
        box.remove();
      } catch (error) {
        say(error.message);
      }
    });
    caption.append(remove);
    box.append(img, caption);
    $("samples").prepend(box);
  }

  function showCounts(answer) {
    $("counts").replaceChildren(...Object.entries(answer.per_digit).map(([digit, n]) => {
      const cell = document.createElement("span");
      cell.textContent = digit + ": " + n;
      cell.className = n ? "" : "none";
      return cell;
    }));
    $("count").textContent = answer.count;
  }

  const percent = (score) => (100 * score.accuracy).toFixed(2) + "% of " + score.images.toLocaleString("en-US");

  function showTune(state) {
    $("finetune").disabled = state.state === "running" || !state.mix;
    if (!state.mix) return say(state.mix_needed);
    const status = $("tune-status");
    status.dataset.state = state.state;
    status.textContent = {
      idle: "",
      running: state.step + (state.step === "training" && state.epoch ? ": epoch " + state.epoch + " of " + state.epochs : ""),
      done: "done: " + state.model,
      failed: "failed: " + state.error,
    }[state.state];
    $("tune-progress").replaceChildren(...(state.progress || []).map((p) => {
      const item = document.createElement("li");
      item.textContent = "epoch " + p.epoch + ": validation accuracy " + (100 * p.val_accuracy).toFixed(1) + "%";
      return item;
    }));
    const result = $("tune-result");
    result.hidden = state.state !== "done";
    if (state.state === "done") {
      const rows = [["your held-out digits", "own"], ["MNIST test set", "mnist"]];
      result.querySelector("tbody").replaceChildren(...rows.map(([name, key]) => {
        const row = document.createElement("tr");
        for (const text of [name, percent(state.before[key]), percent(state.after[key])]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }));
      $("accept").dataset.path = state.model;
      $("accept").disabled = false;
    }
  }

  async function poll() {
    const state = await call("GET", "/api/finetune").catch((error) => ({state: "failed", error: error.message, mix: true}));
    showTune(state);
    clearTimeout(polling);
    if (state.state === "running") polling = setTimeout(poll, 500);
  }

  async function activate(path) {
    try {
      const answer = await call("POST", "/api/model/activate", JSON.stringify({path}), "application/json");
      showModel(answer.model);
      $("switch-back").disabled = !answer.previous;
      say("now serving " + answer.model.file);
    } catch (error) {
      say(error.message);
    }
  }

  function showModel(m) {
    const accuracy = m.test && m.test.accuracy ? ", " + (100 * m.test.accuracy).toFixed(2) + "% on its test set" : "";
    $("model").textContent = m.file + " (" + (m.architecture || "keras") + accuracy + ")";
  }

  async function start() {
    const model = await fetch("/api/model").then((r) => r.json()).catch(() => ({}));
    if (!model.collect) return;
    $("teach").hidden = false;
    for (let digit = 0; digit < 10; digit++) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = digit;
      button.dataset.digit = digit;
      button.addEventListener("click", () => keep(digit));
      $("labels").append(button);
    }
    document.addEventListener("keydown", (event) => {
      if (/^[0-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey && event.target.tagName !== "INPUT") {
        keep(Number(event.key));
      }
    });
    $("download").href = withToken("/api/samples.csv");
    $("finetune").addEventListener("click", async () => {
      try {
        showTune(await call("POST", "/api/finetune", JSON.stringify({epochs: Number($("epochs").value)}), "application/json"));
        poll();
      } catch (error) {
        say(error.message);
      }
    });
    $("accept").addEventListener("click", () => activate($("accept").dataset.path));
    $("switch-back").addEventListener("click", () => activate("previous"));
    const listing = await call("GET", "/api/samples");
    listing.samples.forEach(addThumb);
    showCounts(listing);
    poll();
  }

  start().catch((error) => say(error.message));
})();
