// modellab's in-page Whisper runner: transformers.js (onnxruntime-web, WASM) loading an ONNX export
// from RELATIVE paths, nothing from a CDN or the hub. Used by the lab's browser adapter
// (modellab/models/browser_whisper.py, through Selenium) and reusable by the site's "try it" page.
//
//   import { loadModel, transcribe, memoryMb } from "./runner.js";
//   const info = await loadModel({ transformersUrl, localModelPath, modelId, wasmPaths, dtype, threads });
//   const out = await transcribe(float32Audio16k, { maxNewTokens });   // {text, ms}
//
// Timings are performance.now() in the page: load = model files fetched + ONNX sessions created;
// a call = the pipeline call only (feature extraction + encoder + greedy decoding).

let transcriber = null;
let peakHeapBytes = 0;

function notePeakHeap() {
  const m = performance.memory; // Chromium only: the JS heap (not WebAssembly memory); null elsewhere
  if (m && m.usedJSHeapSize > peakHeapBytes) peakHeapBytes = m.usedJSHeapSize;
}

// The page's memory as the browser reports it, in MB: the JS heap (performance.memory, Chromium:
// JS objects, not WebAssembly memory) and, if asked (it can wait for a garbage collection, seconds)
// and the page is cross-origin isolated, measureUserAgentSpecificMemory's total (all the page's
// memory, WebAssembly included). Fields are null where the browser does not report them.
export async function memoryMb({ userAgent = false } = {}) {
  notePeakHeap();
  const mb = (bytes) => (bytes == null ? null : bytes / 2 ** 20);
  const heap = performance.memory ? performance.memory.usedJSHeapSize : null;
  let uaTotal = null;
  if (userAgent && self.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
    try {
      uaTotal = (await performance.measureUserAgentSpecificMemory()).bytes;
    } catch (e) {
      uaTotal = null;
    }
  }
  return { js_heap_mb: mb(heap), js_heap_peak_mb: mb(peakHeapBytes || heap), ua_total_mb: mb(uaTotal) };
}

// Load transformers.js and the model. All paths are relative to the page (or absolute URLs).
export async function loadModel({
  transformersUrl = "./node_modules/@huggingface/transformers/dist/transformers.min.js",
  localModelPath = "./models/",
  modelId = "whisper-tiny.en",
  wasmPaths = "./node_modules/onnxruntime-web/dist/",
  dtype = "q8",
  threads = 1,
} = {}) {
  const start = performance.now();
  const { env, pipeline } = await import(new URL(transformersUrl, document.baseURI).href);
  env.allowRemoteModels = false; // never the hub
  env.allowLocalModels = true;
  env.localModelPath = localModelPath; // relative: transformers.js only probes optional files (preprocessor_config.json) on non-URL paths
  env.useBrowserCache = false; // every load fetches the files (an honest load time)
  // A folder (the asyncify build transformers.js picks for WASM) or explicit {mjs, wasm} URLs.
  const base = typeof wasmPaths === "string" ? new URL(wasmPaths, document.baseURI).href : null;
  env.backends.onnx.wasm.wasmPaths = base
    ? { mjs: base + "ort-wasm-simd-threaded.asyncify.mjs", wasm: base + "ort-wasm-simd-threaded.asyncify.wasm" }
    : wasmPaths;
  env.backends.onnx.wasm.numThreads = self.crossOriginIsolated ? threads : 1;
  const imported = performance.now();
  transcriber = await pipeline("automatic-speech-recognition", modelId, { dtype, device: "wasm" });
  const loaded = performance.now();
  notePeakHeap();
  return {
    import_ms: imported - start,
    load_ms: loaded - imported, // model files fetched + ONNX sessions created
    threads: env.backends.onnx.wasm.numThreads,
    cross_origin_isolated: !!self.crossOriginIsolated,
    version: env.version,
  };
}

// Transcribe 16 kHz mono audio (Float32Array). ms: the model call alone.
export async function transcribe(audio, { maxNewTokens = 224 } = {}) {
  if (!transcriber) throw new Error("loadModel() first");
  const options = { max_new_tokens: maxNewTokens };
  if (audio.length > 30 * 16000) Object.assign(options, { chunk_length_s: 30, stride_length_s: 5 });
  const start = performance.now();
  const out = await transcriber(audio, options);
  const ms = performance.now() - start;
  notePeakHeap();
  return { text: out.text, ms };
}

// Little-endian float32 bytes in base64 (how the adapter hands audio over WebDriver) -> Float32Array.
export function float32FromBase64(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}
