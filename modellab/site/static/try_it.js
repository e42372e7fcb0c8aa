/* modellab site: the "Try it" page (try.html). Loads transformers.js and the ONNX export from this
   site's own files (relative to the page, so it works under any sub-path) only when the visitor
   presses the button; decodes the chosen audio to 16 kHz mono with an OfflineAudioContext;
   transcribes it in the page. No network beyond this site. */
const SAMPLE_RATE = 16000;
const data = JSON.parse(document.getElementById("try-data").textContent);
const $ = (id) => document.getElementById(id);
const state = { runner: null, samples: null, reference: null, loading: false };

function status(text) {
  $("try-status").textContent = text;
}

function siteUrl(rel) {
  return new URL(rel, document.baseURI).href; /* absolute: module imports resolve against the script otherwise */
}

/* Decode any audio the browser reads, then render it once more through an OfflineAudioContext
   of one channel at 16 kHz: the resampling and the down-mix are the browser's own. */
async function decode16kMono(bytes) {
  const probe = new OfflineAudioContext(1, 1, SAMPLE_RATE);
  const decoded = await probe.decodeAudioData(bytes);
  const length = Math.max(1, Math.ceil(decoded.duration * SAMPLE_RATE));
  const ctx = new OfflineAudioContext(1, length, SAMPLE_RATE);
  const source = ctx.createBufferSource();
  source.buffer = decoded;
  source.connect(ctx.destination);
  source.start();
  const rendered = await ctx.startRendering();
  return rendered.getChannelData(0);
}

/* The lab's own in-page runner (modellab/browser/web/runner.js, the one its browser adapter drives). */
async function loadModel() {
  const started = performance.now();
  const runner = await import(siteUrl(data.runner));
  await runner.loadModel({
    transformersUrl: data.transformers,
    localModelPath: data.local_model_path,
    modelId: data.model_id,
    wasmPaths: data.wasm_paths,
    dtype: data.dtype,
    threads: 1, /* GitHub Pages cannot send the headers threads need */
  });
  return { runner, seconds: (performance.now() - started) / 1000 };
}

function fetchedBytes() {
  return performance
    .getEntriesByType("resource")
    .filter((e) => e.name.includes("/try/"))
    .reduce((sum, e) => sum + (e.encodedBodySize || 0), 0);
}

async function onLoad() {
  if (state.loading || state.runner) return;
  state.loading = true;
  $("try-load").disabled = true;
  status("Downloading and starting the model…");
  try {
    const loaded = await loadModel();
    state.runner = loaded.runner;
    state.loadSeconds = loaded.seconds;
    const fetched = fetchedBytes();
    $("try-load").textContent = "Model loaded";
    $("try-status").dataset.loadS = loaded.seconds.toFixed(3);
    status(`Model loaded in ${loaded.seconds.toFixed(1)} s (${(fetched / 1e6).toFixed(1)} MB fetched). Pick a clip.`);
  } catch (err) {
    $("try-load").disabled = false;
    status(`Could not load the model: ${err && err.message ? err.message : err}`);
  } finally {
    state.loading = false;
    updateRunButton();
  }
}

function updateRunButton() {
  $("try-run").disabled = !(state.runner && state.samples);
}

async function useAudio(bytes, url, reference) {
  const audio = $("try-audio");
  audio.src = url;
  audio.hidden = false;
  state.samples = null;
  state.reference = reference;
  updateRunButton();
  status("Decoding the audio to 16 kHz mono…");
  try {
    state.samples = await decode16kMono(bytes);
    const seconds = state.samples.length / SAMPLE_RATE;
    status(`${seconds.toFixed(1)} s of audio ready.` + (state.runner ? " Press Transcribe." : " Load the model first."));
  } catch (err) {
    status(`Could not decode this audio: ${err && err.message ? err.message : err}`);
  }
  updateRunButton();
}

async function onClip() {
  const index = $("try-clip").value;
  if (index === "") return;
  const clip = data.clips[Number(index)];
  const url = siteUrl(clip.audio);
  const response = await fetch(url);
  await useAudio(await response.arrayBuffer(), url, clip.reference);
}

async function onFile() {
  const file = $("try-file").files[0];
  if (!file) return;
  $("try-clip").value = "";
  await useAudio(await file.arrayBuffer(), URL.createObjectURL(file), null);
}

async function onRun() {
  if (!state.runner || !state.samples) return;
  $("try-run").disabled = true;
  status("Transcribing…");
  const audioSeconds = state.samples.length / SAMPLE_RATE;
  try {
    const out = await state.runner.transcribe(state.samples);
    const seconds = out.ms / 1000; /* the model call alone, as the runner measures it */
    $("try-result").textContent = (out.text || "").trim();
    $("try-reference-row").hidden = !state.reference;
    $("try-reference").textContent = state.reference || "";
    const timing = $("try-timing");
    timing.dataset.transcribeS = seconds.toFixed(3);
    timing.dataset.audioS = audioSeconds.toFixed(3);
    timing.textContent =
      `${audioSeconds.toFixed(1)} s of audio transcribed in ${seconds.toFixed(2)} s here ` +
      `(RTFx ${(audioSeconds / seconds).toFixed(1)} in this browser, one clip, first call included; ` +
      "the lab's RTFx above is after a warm-up, over a whole set).";
    $("try-output").hidden = false;
    status("Done.");
  } catch (err) {
    status(`Transcription failed: ${err && err.message ? err.message : err}`);
  } finally {
    updateRunButton();
  }
}

if (data.ready) {
  $("try-load").addEventListener("click", onLoad);
  $("try-clip").addEventListener("change", onClip);
  $("try-file").addEventListener("change", onFile);
  $("try-run").addEventListener("click", onRun);
}
