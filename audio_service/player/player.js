// audio-service compact player: defines <listen-player article="id" service="https://...">, a
// one-line "Listen to this article" bar (served at /v1/player.js; the bar-only page uses it too).
"use strict";
(() => {
  if (window.customElements === undefined || customElements.get("listen-player")) return;

  // Without a service attribute the service is the one this script came from.
  const SCRIPT_BASE = document.currentScript && document.currentScript.src
    ? new URL("..", document.currentScript.src).href
    : new URL("/", location.href).href;
  const SKIP_S = 10;
  const RATES = ["0.75", "1", "1.25", "1.5", "2"];
  const RATE_KEY = "audio-service.playbackRate";
  // While the first render runs the status is polled until the version's own URL exists.
  const POLL_MS = [1000, 1000, 2000, 2000, 4000, 8000];

  const CSS = `
:host {
  /* The publisher themes the bar with these (they inherit into the shadow tree). */
  --_accent: var(--listen-accent, #0b57d0);
  --_accent-fg: var(--listen-accent-fg, #ffffff);
  --_bg: var(--listen-bg, #f2f4f7);
  --_fg: var(--listen-fg, #1b1d21);
  --_muted: var(--listen-muted, color-mix(in srgb, var(--_fg) 68%, var(--_bg)));
  --_line: var(--listen-line, color-mix(in srgb, var(--_fg) 22%, var(--_bg)));
  --_radius: var(--listen-radius, 12px);
  display: block;
  max-width: 100%;
  font: var(--listen-font-size, 15px)/1.3 var(--listen-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--_fg);
  contain: layout style;
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
.bar {
  display: flex;
  align-items: center;
  gap: 10px;
  min-height: 60px;
  max-height: 80px;
  padding: 8px 10px;
  background: var(--_bg);
  border: 1px solid var(--_line);
  border-radius: var(--_radius);
  overflow: hidden;
}
button, select { font: inherit; color: inherit; margin: 0; touch-action: manipulation; }
:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
.play {
  flex: none;
  display: grid;
  place-items: center;
  width: 44px;
  height: 44px;
  padding: 0;
  border: 0;
  border-radius: 50%;
  background: var(--_accent);
  color: var(--_accent-fg);
  cursor: pointer;
}
.play svg { width: 22px; height: 22px; fill: currentColor; }
.play .pause, .play[aria-pressed="true"] .tri { display: none; }
.play[aria-pressed="true"] .pause { display: block; }
.play.waiting svg { opacity: .6; }
.main { flex: 1; min-width: 0; display: grid; gap: 2px; }
.row { display: flex; align-items: center; gap: 8px; min-width: 0; height: 26px; }
.label { display: flex; min-width: 0; margin: 0; font-weight: 650; white-space: nowrap; }
/* On a narrow bar the words give way before the minutes do. */
.label-text { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.label-min { flex: none; }
.seek {
  flex: 1;
  min-width: 0;
  height: 26px;
  margin: 0;
  accent-color: var(--_accent);
  background: transparent;
  cursor: pointer;
}
.left {
  flex: none;
  font-size: .875em;
  font-variant-numeric: tabular-nums;
  color: var(--_muted);
}
.started .label, .label-min:empty, .bar:not(.started) .seek, .bar:not(.started) .left { display: none; }
.voice {
  margin: 0;
  font-size: .8125em;
  color: var(--_muted);
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.ai {
  display: inline-block;
  padding: 0 6px;
  margin-right: 4px;
  border-radius: 999px;
  border: 1px solid currentColor;
  font-weight: 650;
  font-size: .9em;
  line-height: 1.35;
}
.rate {
  flex: none;
  height: 44px;
  width: 58px;
  padding: 0 4px;
  border: 1px solid var(--_line);
  border-radius: 999px;
  background: transparent;
  font-variant-numeric: tabular-nums;
  cursor: pointer;
}
.status:empty { display: none; }
.status { color: var(--_muted); }
.vh {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
@media (forced-colors: active) { .play { border: 2px solid ButtonText; } }
`;

  const HTML = `
<div class="bar" part="bar" role="group" aria-label="Listen to this article">
  <button type="button" class="play" part="play" aria-pressed="false" aria-label="Play">
    <svg class="tri" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M7 4.2v15.6L19.6 12z"/></svg>
    <svg class="pause" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><rect x="5.5" y="4.5" width="4.5" height="15" rx="1"/><rect x="14" y="4.5" width="4.5" height="15" rx="1"/></svg>
  </button>
  <div class="main">
    <div class="row">
      <p class="label"><span class="label-text">Listen to this article</span><span class="label-min"></span></p>
      <input type="range" class="seek" part="seek" min="0" max="0" step="1" value="0"
             aria-label="Position" aria-valuetext="0 seconds" aria-keyshortcuts="ArrowLeft ArrowRight">
      <span class="left"><span class="vh">Time left </span><span class="left-value">-:--</span></span>
    </div>
    <p class="voice"><span class="ai">AI voice</span><span class="voice-name">Computer-generated speech</span><span class="status" role="status"></span></p>
  </div>
  <label><span class="vh">Playback speed</span>
    <select class="rate" part="rate">${RATES.map((r) => `<option value="${r}"${r === "1" ? " selected" : ""}>${r}×</option>`).join("")}</select>
  </label>
  <audio preload="none"></audio>
</div>`;

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor(s / 60) % 60;
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  }

  function spoken(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const parts = [];
    if (s >= 3600) parts.push(unit(Math.floor(s / 3600), "hour"));
    if (Math.floor(s / 60) % 60) parts.push(unit(Math.floor(s / 60) % 60, "minute"));
    if (s % 60 || parts.length === 0) parts.push(unit(s % 60, "second"));
    return parts.join(" ");
  }

  function minutes(ms) {
    return `${Math.max(1, Math.round(ms / 60000))} min`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  class ListenPlayer extends HTMLElement {
    static get observedAttributes() { return ["article", "service"]; }

    constructor() {
      super();
      this._info = null;        // the last player.json answer
      this._immutable = false;  // the audio element plays one version's own URL
      this._durationS = 0;      // from the status (or estimate) until the MP3 header says
      this._scrubbing = false;
      this._shown = -1;
      this._loads = 0;          // bumps on every (re)load, so an old poll stops
    }

    connectedCallback() {
      if (!this.shadowRoot) this._build();
      if (this._loadedFor !== this._key()) this._load();
    }

    disconnectedCallback() {
      this._loads += 1;
    }

    attributeChangedCallback() {
      if (this.shadowRoot && this.isConnected && this._loadedFor !== this._key()) this._load();
    }

    // ---- public surface, for tests and publishers' own scripts ----
    get audio() { return this._audio; }
    get info() { return this._info; }

    _key() {
      return `${this._service()}|${this.getAttribute("article") || ""}`;
    }

    _service() {
      const given = this.getAttribute("service");
      return new URL(given ? (given.endsWith("/") ? given : `${given}/`) : SCRIPT_BASE, location.href).href;
    }

    _url(path) {
      return new URL(path.replace(/^\//, ""), this._service()).href;
    }

    _build() {
      const root = this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = CSS;
      const holder = document.createElement("div");
      holder.innerHTML = HTML;
      root.append(style, ...holder.childNodes);
      const $ = (sel) => root.querySelector(sel);
      this._bar = $(".bar");
      this._play = $(".play");
      this._minutes = $(".label-min");
      this._seek = $(".seek");
      this._left = $(".left-value");
      this._voice = $(".voice-name");
      this._status = $(".status");
      this._rate = $(".rate");
      this._audio = $("audio");
      this._wire();
    }

    _wire() {
      const audio = this._audio;
      this._play.addEventListener("click", () => this.toggle());
      this._seek.addEventListener("input", () => {
        this._scrubbing = true;
        this._showPosition(Number(this._seek.value));
      });
      this._seek.addEventListener("change", () => {
        this._scrubbing = false;
        this.seekTo(Number(this._seek.value));
      });
      this._seek.addEventListener("blur", () => { this._scrubbing = false; });
      this._rate.addEventListener("change", () => {
        const rate = Number(this._rate.value);
        this._setRate(rate);
        try { localStorage.setItem(RATE_KEY, String(rate)); } catch (err) { /* private mode */ }
      });
      // Arrows seek from anywhere in the bar except the speed list, which needs them itself.
      this._bar.addEventListener("keydown", (event) => {
        if (event.altKey || event.ctrlKey || event.metaKey) return;
        if (event.target === this._rate) return;
        const jumps = { ArrowLeft: -SKIP_S, ArrowDown: -SKIP_S, ArrowRight: SKIP_S, ArrowUp: SKIP_S,
                        PageDown: -60, PageUp: 60 };
        if (event.key in jumps) {
          this.seekTo(audio.currentTime + jumps[event.key]);
        } else if (event.key === "Home") {
          this.seekTo(0);
        } else if (event.key === "End" && this._duration()) {
          this.seekTo(this._duration() - 1);
        } else if ((event.key === " " || event.key === "k") && event.target !== this._play) {
          // Space on the play button is the button's own click.
          this.toggle();
        } else {
          return;
        }
        event.preventDefault();
      });
      for (const name of ["play", "playing", "pause", "ended"]) {
        audio.addEventListener(name, () => this._syncButton());
      }
      for (const name of ["timeupdate", "seeked", "durationchange", "loadedmetadata"]) {
        audio.addEventListener(name, () => this._update());
      }
      audio.addEventListener("waiting", () => this._play.classList.add("waiting"));
      for (const name of ["playing", "canplay"]) {
        audio.addEventListener(name, () => this._play.classList.remove("waiting"));
      }
      audio.addEventListener("error", () => {
        if (audio.getAttribute("src")) this._say(" · audio unavailable, try again later");
      });
      let saved = NaN;
      try { saved = Number(localStorage.getItem(RATE_KEY)); } catch (err) { /* private mode */ }
      if (RATES.includes(String(saved))) {
        this._rate.value = String(saved);
        this._setRate(saved);
      }
    }

    // ---- loading ----
    async _load() {
      const load = ++this._loads;
      this._loadedFor = this._key();
      const id = this.getAttribute("article");
      if (!id) return;
      this._immutable = false;
      this._fallback = this._url(`/v1/articles/${encodeURIComponent(id)}/audio.mp3`);
      let info = null;
      try {
        info = await this._fetchInfo(id);
      } catch (err) {
        // No status (cross-origin without CORS, or offline): the live URL still plays.
      }
      if (load !== this._loads) return;
      if (!info) {
        this._setSource(this._fallback, false);
        return;
      }
      this._apply(info);
      for (let attempt = 0; !this._immutable && info.status.status !== "failed"; attempt += 1) {
        await sleep(POLL_MS[Math.min(attempt, POLL_MS.length - 1)]);
        if (load !== this._loads) return;
        try {
          info = await this._fetchInfo(id);
        } catch (err) {
          continue;
        }
        if (load !== this._loads) return;
        this._apply(info);
      }
    }

    async _fetchInfo(id) {
      const response = await fetch(this._url(`/v1/articles/${encodeURIComponent(id)}/player.json`),
                                   { cache: "no-cache", credentials: "omit" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const info = await response.json();
      if (!info || !info.status || !info.status.urls) throw new Error("unexpected answer");
      return info;
    }

    _apply(info) {
      this._info = info;
      const status = info.status;
      const ms = status.duration_ms || info.estimated_duration_ms || 0;
      this._durationS = ms / 1000;
      this._minutes.textContent = ms ? `\u00a0· ${minutes(ms)}` : "";
      this._voice.textContent = info.voice && info.voice.name ? info.voice.name : "Computer-generated speech";
      this._voice.title = info.voice && info.voice.description ? info.voice.description : "";
      const immutable = status.urls.audio_immutable;
      if (immutable) {
        this._setSource(this._url(immutable), true);
      } else if (!this._audio.getAttribute("src")) {
        this._setSource(this._url(status.urls.audio), false);
      }
      if ("mediaSession" in navigator && this._isActive()) this._setMetadata();
      this._update();
    }

    _setSource(url, immutable) {
      const audio = this._audio;
      if (audio.getAttribute("src") === url) {
        this._immutable = immutable;
        return;
      }
      const had = audio.getAttribute("src");
      const position = audio.currentTime;
      const playing = !audio.paused && !audio.ended;
      this._immutable = immutable;
      audio.src = url;
      if (!had || !this._bar.classList.contains("started")) return;
      // The swap from the live stream to the finished version keeps the listener's place.
      audio.preload = "auto";
      if (position > 0) {
        audio.addEventListener("loadedmetadata", () => { audio.currentTime = position; }, { once: true });
      }
      if (playing) this._start();
      else audio.load();
    }

    // ---- transport ----
    toggle() {
      const audio = this._audio;
      if (audio.paused || audio.ended) this._start();
      else {
        audio.pause();
        this._syncButton();
      }
    }

    _start() {
      const audio = this._audio;
      if (!audio.getAttribute("src") && this._fallback) audio.src = this._fallback;
      this._bar.classList.add("started");
      const started = audio.play();
      if (started) {
        started.catch((err) => {
          if (err.name !== "AbortError") this._say(` · playback could not start (${err.message})`);
        });
      }
      ListenPlayer.active = this;
      this._setMetadata();
      this._setHandlers();
    }

    seekTo(seconds) {
      const audio = this._audio;
      const d = this._duration();
      const target = Math.max(0, d ? Math.min(seconds, d) : seconds);
      if (!audio.getAttribute("src") && this._fallback) audio.src = this._fallback;
      this._bar.classList.add("started");
      audio.currentTime = target;
      this._update();
    }

    _setRate(rate) {
      if (!Number.isFinite(rate) || rate <= 0) return;
      this._audio.defaultPlaybackRate = rate;
      this._audio.playbackRate = rate;
    }

    _duration() {
      const d = this._audio.duration;
      return Number.isFinite(d) && d > 0 ? d : this._durationS;
    }

    _say(text) { this._status.textContent = text; }

    _syncButton() {
      const audio = this._audio;
      const playing = !audio.paused && !audio.ended;
      // A toggle button keeps its name and reports its state: "Play, toggle button, pressed".
      this._play.setAttribute("aria-pressed", String(playing));
      if (playing) this._bar.classList.add("started");
      if ("mediaSession" in navigator && this._isActive()) {
        navigator.mediaSession.playbackState = playing ? "playing" : "paused";
      }
    }

    _update() {
      const d = this._duration();
      this._seek.max = String(Math.max(0, Math.floor(d)));
      if (!this._scrubbing) this._showPosition(this._audio.currentTime);
      if ("mediaSession" in navigator && this._isActive() && d &&
          typeof navigator.mediaSession.setPositionState === "function") {
        try {
          navigator.mediaSession.setPositionState({
            duration: d, position: Math.min(this._audio.currentTime, d),
            playbackRate: this._audio.playbackRate || 1,
          });
        } catch (err) { /* position outside a changing duration */ }
      }
    }

    _showPosition(seconds) {
      const whole = Math.floor(seconds);
      const d = this._duration();
      if (!this._scrubbing) this._seek.value = String(whole);
      if (whole === this._shown && d === this._shownD) return;
      this._shown = whole;
      this._shownD = d;
      this._left.textContent = d ? `-${clock(Math.max(0, d - seconds))}` : "-:--";
      this._seek.setAttribute("aria-valuetext", d ? `${spoken(whole)} of ${spoken(d)}` : spoken(whole));
    }

    // ---- lock screen ----
    _isActive() { return ListenPlayer.active === this; }

    _setMetadata() {
      if (!("mediaSession" in navigator) || typeof MediaMetadata !== "function") return;
      const info = this._info || {};
      const title = info.title || document.title || "Listen to this article";
      navigator.mediaSession.metadata = new MediaMetadata({
        title,
        artist: info.byline || info.publisher || "",
        album: info.publisher || "",
      });
    }

    _setHandlers() {
      if (!("mediaSession" in navigator)) return;
      const audio = this._audio;
      const handlers = {
        play: () => this._start(),
        pause: () => audio.pause(),
        seekbackward: (d) => this.seekTo(audio.currentTime - (d.seekOffset || SKIP_S)),
        seekforward: (d) => this.seekTo(audio.currentTime + (d.seekOffset || SKIP_S)),
        seekto: (d) => this.seekTo(d.seekTime),
      };
      for (const [action, handler] of Object.entries(handlers)) {
        try { navigator.mediaSession.setActionHandler(action, handler); } catch (err) {
          // Older browsers refuse actions they do not know.
        }
      }
    }
  }
  ListenPlayer.active = null;

  customElements.define("listen-player", ListenPlayer);
})();
