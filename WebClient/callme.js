/*! Switchboard "Call Me" widget (no dependencies). Usage: WebClient/README.md.
 * SIP over WebSocket (RFC 7118) to the gateway of the widget session; audio over WebRTC. */
(() => {
"use strict";
if (typeof window === "undefined" || window.CallMe?.version) return;

const VERSION = "0.1.0";
const RTL = ["ar", "he", "fa", "ur", "yi", "ps", "dv", "ku"];
const KEEPALIVE_MS = 25000, GATHER_MS = 1000, STATS_MS = 2000;
const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";

// ---- Strings

const STRINGS = {
	en: {
		call: "Call us", permission: "Please allow the microphone so that we can hear you.", connecting: "Connecting…",
		ringing: "Ringing…", inCall: "Connected", onHold: "You are on hold. Please stay on the line.",
		reconnecting: "Connection interrupted. Reconnecting…", ended: "Call ended", notPossible: "Could not call", yourCall: "Your call", hangup: "Hang up", cancel: "Cancel call",
		mute: "Mute", keypad: "Keypad", video: "Camera", callAgain: "Call again", close: "Close", duration: "Call duration",
		videoAsk: "The agent would like to turn on video. Share your camera?", allowCamera: "Share camera", decline: "Not now",
		causes: {
			"local-hangup": "You ended the call.",
			"remote-hangup": "The agent ended the call.",
			canceled: "Call canceled.",
			busy: "All our agents are busy. Please try again in a few minutes.",
			"no-answer": "Nobody answered. We may be closed right now. Please try again later.",
			"not-available": "This service is not available at the moment.",
			failed: "The call could not be completed. Please try again.",
			network: "The connection was lost. Please check your internet connection.",
			"microphone-denied": "Microphone access is blocked. Allow the microphone for this site in your browser settings.",
			"microphone-missing": "No microphone was found. Please connect a microphone or headset.",
			"microphone-busy": "Your microphone is in use by another application.",
			"origin-not-allowed": "Calling is not enabled on this website.",
			"rate-limited": "Too many call attempts. Please wait a minute and try again.",
			unavailable: "Calling is not available at the moment.",
			unsupported: "This browser cannot make calls."
		}
	},
	de: {
		call: "Rufen Sie uns an", permission: "Bitte erlauben Sie das Mikrofon, damit wir Sie hören können.", connecting: "Verbindung wird aufgebaut …",
		ringing: "Es klingelt …", inCall: "Verbunden", onHold: "Sie werden gehalten. Bitte bleiben Sie dran.",
		reconnecting: "Verbindung unterbrochen. Neuer Versuch …", ended: "Anruf beendet", notPossible: "Anruf nicht möglich", yourCall: "Ihr Anruf", hangup: "Auflegen", cancel: "Anruf abbrechen",
		mute: "Stumm", keypad: "Tastenfeld", video: "Kamera", callAgain: "Erneut anrufen", close: "Schließen", duration: "Gesprächsdauer",
		videoAsk: "Wir möchten Video einschalten. Kamera freigeben?", allowCamera: "Kamera freigeben", decline: "Jetzt nicht",
		causes: {
			"local-hangup": "Sie haben den Anruf beendet.",
			"remote-hangup": "Das Gespräch wurde von unserer Seite beendet.",
			canceled: "Anruf abgebrochen.",
			busy: "Alle Leitungen sind belegt. Bitte versuchen Sie es in ein paar Minuten erneut.",
			"no-answer": "Niemand hat abgenommen. Vielleicht sind wir gerade nicht erreichbar. Bitte später erneut versuchen.",
			"not-available": "Dieser Dienst ist im Moment nicht verfügbar.",
			failed: "Der Anruf konnte nicht aufgebaut werden. Bitte versuchen Sie es erneut.",
			network: "Die Verbindung ist abgebrochen. Bitte prüfen Sie Ihre Internetverbindung.",
			"microphone-denied": "Der Mikrofonzugriff ist blockiert. Erlauben Sie das Mikrofon für diese Website in den Browser-Einstellungen.",
			"microphone-missing": "Kein Mikrofon gefunden. Bitte schließen Sie ein Mikrofon oder Headset an.",
			"microphone-busy": "Ihr Mikrofon wird von einer anderen Anwendung verwendet.",
			"origin-not-allowed": "Anrufe sind auf dieser Website nicht freigeschaltet.",
			"rate-limited": "Zu viele Anrufversuche. Bitte warten Sie eine Minute.",
			unavailable: "Anrufe sind im Moment nicht möglich.",
			unsupported: "Mit diesem Browser sind keine Anrufe möglich."
		}
	}
};

const pickLanguage = (tags) => {
	for (const tag of tags) {
		const primary = String(tag || "").toLowerCase().split(/[-_]/)[0];
		if (STRINGS[primary]) return primary;
	}
	return "en";
};
const browserLanguages = () => Array.from(navigator.languages || [navigator.language]);

// ---- Utilities

const randomToken = (length) => {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
	return Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => alphabet[b % 36]).join("");
};

const isObject = (v) => v && typeof v === "object" && !Array.isArray(v);
const merge = (target, source) => {
	for (const [key, value] of Object.entries(source || {})) {
		target[key] = isObject(value) && isObject(target[key]) ? merge({ ...target[key] }, value) : value;
	}
	return target;
};

const hexToRgb = (hex) => {
	const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
	if (!m) return null;
	const n = parseInt(m[1], 16);
	return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};
const luminance = (rgb) => {
	const [r, g, b] = rgb.map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a, b) => {
	const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
	return (x + 0.05) / (y + 0.05);
};
/** The shop's text colour if readable on its primary colour (4.5:1), else white or near-black. */
const readableText = (primaryHex, textHex) => {
	const bg = hexToRgb(primaryHex), text = hexToRgb(textHex);
	if (text && contrast(bg, text) >= 4.5) return textHex;
	return contrast(bg, [255, 255, 255]) >= contrast(bg, [17, 24, 39]) ? "#ffffff" : "#111827";
};

const formatDuration = (seconds) => new Date(seconds * 1000).toISOString().slice(seconds >= 3600 ? 12 : 14, 19);

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class CallError extends Error {
	constructor(cause, sipCode = null) {
		super(cause);
		this.cause = cause;
		this.sipCode = sipCode;
	}
}
const causeOfError = (error) => (error instanceof CallError ? error.cause : "failed");

// ---- SIP messages (RFC 3261 syntax, as much as a user agent over WebSocket needs)

const COMPACT = { i: "call-id", f: "from", t: "to", v: "via", m: "contact", l: "content-length", c: "content-type", k: "supported" };
const MULTI = new Set(["via", "route", "record-route", "contact"]);

const splitCommas = (value) => {
	const parts = [];
	let depth = 0, quoted = false, current = "";
	for (const ch of value) {
		if (ch === '"') quoted = !quoted;
		else if (!quoted && ch === "<") depth++;
		else if (!quoted && ch === ">") depth--;
		if (ch === "," && !depth && !quoted) {
			parts.push(current.trim());
			current = "";
		} else current += ch;
	}
	if (current.trim()) parts.push(current.trim());
	return parts;
};

const parseMessage = (text) => {
	const end = text.indexOf("\r\n\r\n");
	const head = end < 0 ? text : text.slice(0, end);
	const lines = [];
	for (const line of head.split("\r\n")) {
		if (/^[ \t]/.test(line) && lines.length) lines[lines.length - 1] += " " + line.trim();
		else lines.push(line);
	}
	const first = lines.shift() || "";
	const message = { headers: {}, body: end < 0 ? "" : text.slice(end + 4) };
	let m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(first);
	if (m) [message.status, message.reason] = [Number(m[1]), m[2]];
	else if ((m = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(first))) [message.method, message.uri] = [m[1].toUpperCase(), m[2]];
	else return null;
	for (const line of lines) {
		const colon = line.indexOf(":");
		if (colon <= 0) continue;
		let name = line.slice(0, colon).trim().toLowerCase();
		name = COMPACT[name] || name;
		const value = line.slice(colon + 1).trim();
		(message.headers[name] ||= []).push(...(MULTI.has(name) ? splitCommas(value) : [value]));
	}
	return message; // one message per WebSocket frame (RFC 7118 §5.1): the body is the rest
};

const header = (message, name) => (message.headers[name] || [])[0] || null;
const param = (value, name) => (new RegExp(`;\\s*${name}=([^;>,\\s]+)`, "i").exec(value || "") || [])[1] || null;
const uriOf = (value) => (/<([^>]+)>/.exec(value || "") || [])[1] || (value || "").split(";")[0].trim();

const serialize = (startLine, headers, body = "") =>
	[startLine, ...headers.filter((h) => h[1] != null).map(([n, v]) => `${n}: ${v}`), `Content-Length: ${new TextEncoder().encode(body).length}`].join("\r\n") +
	"\r\n\r\n" + body;

// ---- The SIP user agent: one dialog over one WebSocket (reconnected when the network changes)

class UserAgent {
	constructor(session, handlers) {
		const url = session.websocketUrl;
		Object.assign(this, { url, handlers, transport: /^wss:/i.test(url) ? "WSS" : "WS", transactions: new Map() });
		this.target = session.sipUri || "sip:callme@switchboard.invalid";
		this.host = randomToken(12) + ".invalid";
		[this.user, this.callId, this.localTag] = [randomToken(8), randomToken(20), randomToken(10)];
		this.cseq = 1 + Math.floor(Math.random() * 10000);
	}

	connect() {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(this.url, "sip");
			let opened = false;
			ws.onopen = () => {
				if (this.closed || ws.protocol !== "sip") {
					ws.close(1000);
					return reject(new CallError(this.closed ? "canceled" : "failed"));
				}
				opened = true;
				this.ws = ws;
				this.startKeepalive();
				resolve();
			};
			ws.onmessage = (event) => {
				if (typeof event.data === "string") this.receive(event.data);
				else event.data.text().then((t) => this.receive(t));
			};
			ws.onclose = (event) => {
				if (!opened) return reject(new CallError(event.code === 1008 ? "unavailable" : "network"));
				if (ws !== this.ws) return;
				this.stopKeepalive();
				this.ws = null;
				if (!this.closed) this.handlers.onDisconnect();
			};
		});
	}

	/** CRLF CRLF every ~25 s (RFC 5626 §4.4.1) keeps NAT bindings and proxies open. */
	startKeepalive() {
		this.stopKeepalive();
		this.keepalive = setInterval(() => this.send("\r\n\r\n"), KEEPALIVE_MS);
	}

	stopKeepalive() {
		clearInterval(this.keepalive);
	}

	close() {
		this.closed = true;
		this.stopKeepalive();
		for (const t of this.transactions.values()) clearTimeout(t.timer);
		this.transactions.clear();
		if (this.ws) this.ws.close(1000);
		this.ws = null;
	}

	send(text) {
		if (!this.ws || this.ws.readyState !== 1) return false;
		this.ws.send(text);
		return true;
	}

	contact() {
		return `<sip:${this.user}@${this.host};transport=ws;ob>`;
	}

	/** Sends a request; `onResponse` sees its responses, or a local 408 (Timer B/F). */
	request(method, o = {}) {
		const branch = o.branch || "z9hG4bK" + randomToken(16);
		const cseq = o.cseq || ++this.cseq;
		const inDialog = !!this.remoteTag && method !== "CANCEL" && !o.transactionAck;
		const uri = o.uri || (inDialog && this.remoteTarget) || this.target;
		const headers = [["Via", `SIP/2.0/${this.transport} ${this.host};branch=${branch};rport`], ["Max-Forwards", "70"]];
		if (inDialog) for (const r of this.routeSet || []) headers.push(["Route", r]);
		headers.push(
			["To", o.to || `<${this.target}>` + (this.remoteTag ? `;tag=${this.remoteTag}` : "")],
			["From", `"Shopper" <sip:${this.user}@${this.host}>;tag=${this.localTag}`],
			["Call-ID", this.callId],
			["CSeq", `${cseq} ${method}`]
		);
		if (method === "INVITE" || (method === "ACK" && !o.transactionAck)) headers.push(["Contact", this.contact()]);
		if (method === "INVITE") headers.push(["Allow", ALLOW], ["Supported", "outbound"]);
		if (o.body) headers.push(["Content-Type", "application/sdp"]);
		headers.push(["User-Agent", "Switchboard-CallMe/" + VERSION]);
		if (method !== "ACK" && o.onResponse) {
			const timer = setTimeout(() => {
				this.transactions.delete(branch);
				o.onResponse({ status: 408, headers: {}, body: "", local: true });
			}, this.ws ? o.timeout || 32000 : 0);
			this.transactions.set(branch, { method, onResponse: o.onResponse, timer });
		}
		this.send(serialize(`${method} ${uri} SIP/2.0`, headers, o.body));
		return { branch, cseq, uri };
	}

	receive(text) {
		if (/^[\r\n]+$/.test(text)) return; // the answer to a keepalive
		const message = parseMessage(text);
		if (!message) return;
		if (!message.status) return this.handlers.onRequest(message);
		const branch = param(header(message, "via"), "branch");
		const method = (header(message, "cseq") || "").split(/\s+/)[1];
		const transaction = this.transactions.get(branch);
		if (!transaction || transaction.method !== method) return;
		if (message.status >= 200) {
			clearTimeout(transaction.timer);
			this.transactions.delete(branch);
		}
		transaction.onResponse(message);
	}

	respond(request, status, reason, o = {}) {
		const headers = (request.headers.via || []).map((v) => ["Via", v]);
		let to = header(request, "to") || "";
		if (!param(to, "tag") && status > 100) to += ";tag=" + this.localTag;
		headers.push(["To", to], ["From", header(request, "from")], ["Call-ID", header(request, "call-id")], ["CSeq", header(request, "cseq")]);
		if (request.method === "INVITE" && status >= 200 && status < 300) {
			for (const r of request.headers["record-route"] || []) headers.push(["Record-Route", r]);
			headers.push(["Contact", this.contact()]);
		}
		headers.push(...(o.headers || []));
		if (o.body) headers.push(["Content-Type", "application/sdp"]);
		const text = serialize(`SIP/2.0 ${status} ${reason}`, headers, o.body);
		this.send(text);
		return text;
	}
}

// ---- SDP and stats helpers

const sections = (sdp) => (sdp || "").split(/\r?\nm=/);
const audioDirection = (sdp) => {
	const [session, ...media] = sections(sdp);
	const find = (s) => (/a=(sendrecv|sendonly|recvonly|inactive)/.exec(s || "") || [])[1];
	return find(media.find((s) => s.startsWith("audio "))) || find(session) || "sendrecv";
};
const offersVideo = (sdp) => sections(sdp).slice(1).some((s) => /^video [1-9]/.test(s));
const isHold = (direction) => direction === "sendonly" || direction === "inactive";

const waitForGathering = (pc) =>
	new Promise((resolve) => {
		const check = () => pc.iceGatheringState === "complete" && resolve();
		pc.addEventListener("icegatheringstatechange", check);
		setTimeout(resolve, GATHER_MS);
		check();
	});

const NO_STATS = { report: null, stats: [], summary: null };

/** Audio levels, packet counts, jitter and round-trip time out of an RTCStatsReport's entries. */
const summarize = (stats) => {
	const find = (type) => stats.find((s) => s.type === type && s.kind === "audio") || null;
	const inbound = find("inbound-rtp"), outbound = find("outbound-rtp"), source = find("media-source");
	const pair = stats.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
	return {
		inbound, outbound, source,
		audioLevelIn: inbound?.audioLevel ?? null, audioLevelOut: source?.audioLevel ?? null,
		packetsReceived: inbound?.packetsReceived || 0, packetsLost: inbound?.packetsLost || 0, packetsSent: outbound?.packetsSent || 0,
		jitter: inbound?.jitter ?? null, roundTripTime: find("remote-inbound-rtp")?.roundTripTime ?? pair?.currentRoundTripTime ?? null
	};
};

const causeOfStatus = (status) =>
	status === 486 || status === 600 ? "busy"
	: status === 480 || status === 408 ? "no-answer"
	: status === 403 || status === 404 || status === 604 ? "not-available"
	: "failed";

// ---- One call: microphone, peer connection, INVITE dialog

class Call {
	constructor(widget) {
		this.widget = widget;
		this.muted = false;
		this.videoOn = false;
		this.warnings = {};
	}

	get phase() {
		return this.widget.state;
	}

	async start(sessionPromise) {
		if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof RTCPeerConnection === "undefined") throw new CallError("unsupported");
		// A refused session (origin, disabled widget) is reported while the browser still asks.
		sessionPromise.catch((error) => this.localStream || this.finish(causeOfError(error)));
		let stream;
		try {
			stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
		} catch (error) {
			const denied = "microphone-denied", missing = "microphone-missing", busy = "microphone-busy";
			const causes = { NotAllowedError: denied, SecurityError: denied, NotFoundError: missing, OverconstrainedError: missing, NotReadableError: busy, AbortError: busy };
			throw new CallError(causes[error?.name] || "failed");
		}
		this.localStream = stream;
		if (this.ended) stream.getTracks().forEach((t) => t.stop());
		const session = await sessionPromise;
		if (this.aborted || this.ended) throw new CallError("canceled");
		this.widget.setCallState("connecting");
		await this.connect(session);
	}

	async connect(session) {
		const pc = (this.pc = new RTCPeerConnection({ iceServers: session.iceServers || [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" }));
		for (const track of this.localStream.getAudioTracks()) this.audioSender = pc.addTrack(track, this.localStream);
		pc.ontrack = (event) => {
			const stream = (event.streams && event.streams[0]) || new MediaStream([event.track]);
			if (event.track.kind === "audio") this.widget.playRemoteAudio(stream);
			else this.widget.showVideo("remote", stream);
		};
		pc.oniceconnectionstatechange = () => {
			if (pc.iceConnectionState === "failed" && this.phase === "in-call") this.iceRestart();
		};
		this.ua = new UserAgent(session, {
			onRequest: (request) => this.onRequest(request),
			onDisconnect: () => this.onDisconnect()
		});
		const [, sdp] = await Promise.all([this.ua.connect(), this.makeOffer()]);
		if (this.aborted || this.ended) throw new CallError("canceled");
		this.invite = this.ua.request("INVITE", { body: sdp, timeout: 120000, onResponse: (r) => this.onInviteResponse(r) });
	}

	/** An offer once ICE gathering completes, or after GATHER_MS. */
	async makeOffer(options = {}) {
		await this.pc.setLocalDescription(await this.pc.createOffer(options));
		await waitForGathering(this.pc);
		return this.pc.localDescription.sdp;
	}

	onInviteResponse(response) {
		const { status } = response;
		if (status < 200) {
			this.provisional = true;
			if (this.cancelWhenProvisional) this.sendCancel();
			else if ((status === 180 || status === 183) && this.phase === "connecting") this.widget.setCallState("ringing", { sipCode: status });
			return;
		}
		if (status < 300) {
			this.learnDialog(response);
			this.ackOk(response);
			if (this.aborted || this.ended) {
				this.ua.request("BYE");
				return this.finish("canceled");
			}
			this.pc.setRemoteDescription({ type: "answer", sdp: response.body }).then(
				() => {
					this.widget.setCallState("in-call", { sipCode: status });
					this.startMonitor();
				},
				() => {
					this.ua.request("BYE");
					this.finish("failed", 488);
				}
			);
			return;
		}
		this.ackFailure(response, this.invite.uri);
		if (this.aborted) return this.finish("canceled", status);
		this.finish(causeOfStatus(status), response.local ? null : status);
	}

	learnDialog(response) {
		if (this.ua.remoteTag) return;
		this.ua.remoteTag = param(header(response, "to"), "tag");
		this.ua.remoteTarget = uriOf(header(response, "contact")) || this.ua.target;
		this.ua.routeSet = (response.headers["record-route"] || []).slice().reverse();
	}

	/** The ACK of a failure belongs to the INVITE transaction: same branch, the response's To tag. */
	ackFailure(response, uri) {
		const branch = param(header(response, "via"), "branch"), cseq = parseInt(header(response, "cseq"), 10);
		if (!response.local) this.ua.request("ACK", { branch, cseq, uri, to: header(response, "to"), transactionAck: true });
	}

	ackOk(response) {
		this.ua.request("ACK", { cseq: parseInt(header(response, "cseq"), 10) });
	}

	sendCancel() {
		this.cancelWhenProvisional = false;
		const { branch, cseq, uri } = this.invite;
		this.ua.request("CANCEL", { branch, cseq, uri, to: `<${this.ua.target}>`, onResponse: (r) => r.status >= 300 && this.finish("canceled") });
	}

	hangup() {
		if (this.ended) return;
		if (this.ua?.remoteTag) {
			this.ua.request("BYE", { timeout: 4000, onResponse: () => this.finish("local-hangup") });
			setTimeout(() => this.finish("local-hangup"), 1000);
			return;
		}
		this.aborted = true;
		if (!this.invite) return this.finish("canceled");
		if (this.provisional) this.sendCancel();
		else this.cancelWhenProvisional = true;
		// The INVITE's 487 normally ends the call; do not wait for ever if it never comes.
		setTimeout(() => this.finish("canceled"), 5000);
	}

	onRequest(request) {
		const ua = this.ua, method = request.method;
		if (method === "ACK") {
			const onAck = this.onAck;
			this.onAck = null;
			return header(request, "call-id") === ua.callId && onAck && onAck(request);
		}
		if (method === "OPTIONS") return ua.respond(request, 200, "OK", { headers: [["Allow", ALLOW]] });
		const sameDialog = header(request, "call-id") === ua.callId && ua.remoteTag && param(header(request, "from"), "tag") === ua.remoteTag;
		if (!sameDialog) return ua.respond(request, method === "INVITE" ? 486 : 481, method === "INVITE" ? "Busy Here" : "Call/Transaction Does Not Exist");
		if (method === "BYE") {
			ua.respond(request, 200, "OK");
			return this.finish("remote-hangup");
		}
		if (method === "INVITE") return this.onReinvite(request);
		if (method === "INFO" || method === "UPDATE" || method === "NOTIFY") return ua.respond(request, 200, "OK");
		ua.respond(request, 405, "Method Not Allowed", { headers: [["Allow", ALLOW]] });
	}

	/** A re-INVITE from the call-centre side: hold, resume, a new media path, or video. */
	async onReinvite(request) {
		const { ua, pc } = this;
		if (this.negotiating) return ua.respond(request, 491, "Request Pending");
		this.negotiating = true;
		ua.respond(request, 100, "Trying");
		const offer = request.body.trim() ? request.body : null;
		try {
			let camera = null;
			if (offer && offersVideo(offer) && !this.videoOn && this.widget.allowsVideo() && (await this.widget.askForVideo())) camera = await this.openCamera();
			if (offer) {
				await pc.setRemoteDescription({ type: "offer", sdp: offer });
				for (const t of pc.getTransceivers()) {
					if (t.receiver.track.kind !== "video" || t.currentDirection === "stopped") continue;
					if (camera) {
						t.direction = "sendrecv";
						await t.sender.replaceTrack(camera);
						this.videoSender = t.sender;
					} else if (!this.videoSender) t.direction = "inactive";
				}
				await pc.setLocalDescription(await pc.createAnswer());
			} else {
				await pc.setLocalDescription(await pc.createOffer());
				await waitForGathering(pc);
			}
			ua.respond(request, 200, "OK", { body: pc.localDescription.sdp });
			// Without an offer in the re-INVITE, our 200 carried one and the ACK brings the answer.
			this.onAck = (ack) => !offer && ack.body && pc.setRemoteDescription({ type: "answer", sdp: ack.body });
			this.negotiating = false;
			if (offer) this.widget.setHold(isHold(audioDirection(offer)));
			this.widget.setVideoActive(this.videoOn);
		} catch (error) {
			ua.respond(request, 488, "Not Acceptable Here");
			this.negotiating = false;
			if (pc.signalingState !== "stable") pc.setLocalDescription({ type: "rollback" }).catch(() => {});
		}
	}

	/** Our own re-INVITE (ICE restart, camera added). */
	async reinvite(options) {
		if (this.negotiating) throw new CallError("failed", 491);
		this.negotiating = true;
		try {
			const sdp = await this.makeOffer(options);
			const response = await new Promise((resolve) =>
				this.ua.request("INVITE", { body: sdp, onResponse: (r) => r.status >= 200 && resolve(r) })
			);
			if (response.status < 300) {
				this.ackOk(response);
				await this.pc.setRemoteDescription({ type: "answer", sdp: response.body });
				return;
			}
			this.ackFailure(response, this.ua.remoteTarget);
			await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
			throw new CallError(response.status === 481 || response.status === 408 ? "network" : "failed", response.status);
		} finally {
			this.negotiating = false;
		}
	}

	async iceRestart(warned) {
		if (!warned) this.widget.warn("reconnecting");
		for (let attempt = 0; attempt < 5 && !this.ended; attempt++) {
			try {
				await this.reinvite({ iceRestart: true });
				return this.widget.warn("reconnected");
			} catch (error) {
				// 491: both sides renegotiated at once; try again after a random pause (RFC 3261 §14.1).
				if (error.sipCode !== 491) return this.finish("network", error.sipCode);
				await delay(1000 + Math.random() * 1000);
			}
		}
	}

	/** The WebSocket closed under a call: reconnect and restart ICE, or give up after ~20 s. */
	async onDisconnect() {
		if (this.ended) return;
		if (this.phase !== "in-call" && this.phase !== "hold") return this.finish("network");
		this.widget.warn("reconnecting");
		this.widget.setReconnecting(true);
		const giveUpAt = Date.now() + 20000;
		for (let attempt = 1; !this.ended; attempt++) {
			if (Date.now() > giveUpAt) return this.finish("network");
			await delay(Math.min(500 * attempt, 3000));
			try {
				await this.ua.connect();
			} catch (error) {
				continue;
			}
			this.widget.setReconnecting(false);
			this.negotiating = false;
			return this.iceRestart(true);
		}
	}

	async openCamera() {
		try {
			this.cameraStream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } } });
		} catch (error) {
			return null;
		}
		this.videoOn = true;
		this.widget.showVideo("local", this.cameraStream);
		return this.cameraStream.getVideoTracks()[0];
	}

	/** The camera toggle: the first time it adds a video stream (re-INVITE). */
	async toggleVideo() {
		if (this.videoOn) {
			if (this.videoSender) await this.videoSender.replaceTrack(null);
			this.cameraStream.getTracks().forEach((t) => t.stop());
			this.videoOn = false;
			this.widget.showVideo("local", null);
			return false;
		}
		const track = await this.openCamera();
		if (!track) return false;
		if (this.videoSender) {
			await this.videoSender.replaceTrack(track);
			return true;
		}
		this.videoSender = this.pc.addTransceiver(track, { direction: "sendrecv", streams: [this.cameraStream] }).sender;
		return this.reinvite({}).then(() => true, () => false);
	}

	setMuted(muted) {
		this.muted = !!muted;
		if (this.localStream) this.localStream.getAudioTracks().forEach((t) => (t.enabled = !this.muted));
		return this.muted;
	}

	/** DTMF through RTCDTMFSender (RFC 4733 telephone-events in the audio stream). */
	sendDigits(digits) {
		digits = String(digits || "").replace(/[^0-9A-D#*,]/gi, "").toUpperCase();
		const dtmf = this.audioSender?.dtmf;
		if (!digits || !dtmf || dtmf.canInsertDTMF === false) return false;
		dtmf.insertDTMF(dtmf.toneBuffer + digits, 100, 70);
		return true;
	}

	finish(cause, sipCode = null) {
		if (this.ended) return;
		this.ended = true;
		clearInterval(this.monitor);
		if (this.ua) this.ua.close();
		if (this.pc) this.pc.close();
		for (const s of [this.localStream, this.cameraStream]) if (s) s.getTracks().forEach((t) => t.stop());
		this.widget.callEnded(cause, sipCode);
	}

	async getStats() {
		if (!this.pc || this.pc.connectionState === "closed") return NO_STATS;
		const report = await this.pc.getStats();
		const stats = Array.from(report.values());
		return { report, stats, summary: summarize(stats) };
	}

	/** Packet counters during a call: one-way audio, loss and jitter become warnings. */
	startMonitor() {
		let previous = null;
		this.monitor = setInterval(async () => {
			const { summary: s } = await this.getStats().catch(() => ({}));
			if (!s || this.ended) return;
			if (previous && this.phase === "in-call") {
				const received = s.packetsReceived - previous.packetsReceived;
				const sent = s.packetsSent - previous.packetsSent;
				const lost = s.packetsLost - previous.packetsLost;
				const direction = received <= 0 && sent > 0 ? "incoming" : sent <= 0 && received > 0 && !this.muted ? "outgoing" : null;
				this.flag("one-way-audio", !!direction, { direction });
				const lossRate = received + lost > 0 ? lost / (received + lost) : 0;
				this.flag("high-loss", lossRate > 0.05, { lossRate });
				this.flag("high-jitter", s.jitter != null && s.jitter > 0.05, { jitter: s.jitter });
			}
			previous = s;
		}, STATS_MS);
	}

	flag(type, on, detail) {
		if (on && !this.warnings[type]) this.widget.warn(type, detail);
		this.warnings[type] = on;
	}
}

// ---- The element: <callme-button>

const svg = (path) => `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false" fill="currentColor"><path d="${path}"/></svg>`;
const ICONS = {
	phone: svg("M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.6a1 1 0 0 1-.25 1z"),
	hangup: svg("M12 8C7.5 8 3.4 9.7.3 12.6a1 1 0 0 0 0 1.4l2.5 2.5a1 1 0 0 0 1.4 0c.8-.7 1.7-1.4 2.7-1.9a1 1 0 0 0 .5-.9v-3c1.5-.5 3-.7 4.6-.7s3.1.2 4.6.7v3a1 1 0 0 0 .5.9c1 .5 1.9 1.2 2.7 1.9a1 1 0 0 0 1.4 0l2.5-2.5a1 1 0 0 0 0-1.4C20.6 9.7 16.5 8 12 8z"),
};

const STYLE = `
:host{all:initial;display:inline-block;--callme-primary:#1d4ed8;--callme-text:#fff;--callme-font:system-ui,"Segoe UI",Roboto,Arial,sans-serif;--callme-radius:999px;--callme-offset:20px;--callme-z-index:2147483000;--callme-panel-bg:#fff;--callme-panel-text:#1f2937;--callme-muted-text:#4b5563;--callme-danger:#b91c1c}
:host([data-floating]){position:fixed;z-index:var(--callme-z-index)}
:host([data-position^=bottom]){bottom:var(--callme-offset)}
:host([data-position^=top]){top:var(--callme-offset)}
:host([data-position$=right]){right:var(--callme-offset)}
:host([data-position$=left]){left:var(--callme-offset)}
[hidden],:host([hidden]){display:none!important}
.root{font:15px/1.4 var(--callme-font);color:var(--callme-panel-text);display:flex;flex-direction:column;align-items:flex-end;gap:12px}
:host([data-position$=left]) .root,:host([data-position=inline]) .root{align-items:flex-start}
:host([data-position^=top]) .root{flex-direction:column-reverse}
button{font:inherit;cursor:pointer;border:0;margin:0;display:inline-flex;align-items:center;justify-content:center;gap:8px;border-radius:10px;min-block-size:44px;padding:8px 14px;background:#f3f4f6;color:#111827;flex:1 1 auto}
button:focus-visible{outline:3px solid var(--callme-focus,#1d4ed8);outline-offset:2px}
.launcher,.primary,.head{background:var(--callme-primary);color:var(--callme-text);font-weight:600}
.launcher{flex:none;min-block-size:52px;padding-inline:18px 22px;border-radius:var(--callme-radius);font-size:16px;box-shadow:0 6px 20px #0f172a40}
:host([data-shape=square]) .launcher{border-radius:8px}
:host([data-shape=round]) .launcher{inline-size:60px;block-size:60px;padding:0;border-radius:50%}
:host([data-shape=round]) .launcher svg{inline-size:28px;block-size:28px}
:host([data-shape=round]) .label{position:absolute;inline-size:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.panel{box-sizing:border-box;inline-size:min(320px,calc(100vw - 2 * var(--callme-offset)));background:var(--callme-panel-bg);border-radius:16px;box-shadow:0 12px 40px #0f172a48;overflow:hidden;text-align:start}
.head{display:flex;align-items:center;gap:10px;padding:12px 16px}
.title{flex:1;min-inline-size:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.timer{font-variant-numeric:tabular-nums}
.body{padding:16px;display:grid;gap:12px}
p{margin:0}
.status{font-weight:600;font-size:16px}
.message{margin-block-start:4px;color:var(--callme-muted-text)}
:host([data-state=ended]) .message{color:inherit}
.pulse{inline-size:10px;block-size:10px;border-radius:50%;background:currentColor;flex:none}
:host(:not([data-state=in-call]):not([data-state=hold])) .pulse{animation:callme-pulse 1.2s infinite}
@keyframes callme-pulse{50%{opacity:.3}}
@media (prefers-reduced-motion:reduce){.pulse{animation:none!important}}
.controls,.actions{display:flex;flex-wrap:wrap;gap:8px}
[aria-pressed=true]{background:#111827;color:#fff}
[aria-expanded=true]{background:#e0e7ff;color:#1e1b4b}
.hangup{background:var(--callme-danger);color:#fff;font-weight:600;flex-basis:100%}
.keypad{display:grid;grid-template-columns:repeat(3,1fr);gap:6px}
.keypad button{min-block-size:40px;font-size:18px;font-weight:600}
.consent{background:#eff6ff;color:#1e3a8a;border-radius:10px;padding:10px;display:grid;gap:8px}
.media{position:relative;background:#111827;border-radius:10px;overflow:hidden;aspect-ratio:4/3}
.media video{inline-size:100%;block-size:100%;object-fit:cover;display:block}
.media .local{position:absolute;inline-size:30%;block-size:auto;inset-block-end:8px;inset-inline-end:8px;border-radius:6px;border:2px solid #fff}
`;

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const ACTIVE = new Set(["permission", "connecting", "ringing", "in-call", "hold"]);

const widgets = [];
const sharedContext = {};
const waitingForPrimary = [];

const ownScript = document.currentScript?.src ? document.currentScript : Array.from(document.querySelectorAll("script[data-widget]")).pop() || null;
const ownOrigin = (() => {
	try {
		return new URL(ownScript.src, location.href).origin;
	} catch (error) {
		return location.origin;
	}
})();

/** A failed CORS request: refused (a foreign origin gets no CORS headers) when an opaque request gets through. */
const refusedOrUnreachable = (url) => fetch(url, { mode: "no-cors", credentials: "omit" }).then(() => "origin-not-allowed", () => "network");

class CallMeButton extends HTMLElement {
	static get observedAttributes() {
		return ["lang"];
	}

	connectedCallback() {
		if (!widgets.includes(this)) widgets.push(this);
		if (this.shadowRoot) return;
		this._context = {};
		this._state = "idle";
		this._public = null;
		this.attachShadow({ mode: "open" }).innerHTML = this.template();
		this.$ = (selector) => this.shadowRoot.querySelector(selector);
		this.bind();
		if (!this.hasAttribute("data-position")) this.setAttribute("data-position", this.getAttribute("position") || "inline");
		this.setAttribute("data-state", "idle");
		this.chooseLanguage();
		this._ready = this.loadPublic();
		if (this === primary()) waitingForPrimary.splice(0).forEach((resolve) => resolve(this));
	}

	disconnectedCallback() {
		if (widgets.includes(this)) widgets.splice(widgets.indexOf(this), 1);
	}

	attributeChangedCallback() {
		if (this.shadowRoot) this.chooseLanguage();
	}

	get state() {
		return this._state;
	}

	template() {
		const control = (action, extra, text = action, icon = "") => `<button part="button ${action}" data-action="${action}" ${extra}>${icon}<span class="text"${text ? ` data-t="${text}"` : ""}></span></button>`;
		return `<style>${STYLE}</style><div class="root" part="container">
<section class="panel" part="panel" aria-labelledby="title" hidden>
<div class="head" part="header"><span class="pulse" aria-hidden="true"></span><span class="title" id="title" part="title"></span><span class="timer" part="timer" role="timer" hidden></span></div>
<div class="body">
<div role="status" aria-live="polite" aria-atomic="true"><p class="status" part="status"></p><p class="message" part="message"></p></div>
<div class="media" part="video" hidden><video class="remote" playsinline autoplay></video><video class="local" playsinline autoplay muted hidden></video></div>
<div class="consent" part="consent" role="group" aria-labelledby="consent-text" hidden><p id="consent-text" data-t="videoAsk"></p><div class="actions"><button class="primary" data-action="allow-camera" data-t="allowCamera"></button><button data-action="decline-camera" data-t="decline"></button></div></div>
<div class="keypad" id="keypad" part="keypad" role="group" hidden>${KEYS.map((k) => `<button part="key" data-digit="${k}">${k}</button>`).join("")}</div>
<div class="controls" part="controls">${control("mute", 'aria-pressed="false"')}${control("keypad", 'aria-expanded="false" aria-controls="keypad"')}${control("video", 'aria-pressed="false"')}${control("hangup", 'class="hangup"', "", ICONS.hangup)}</div>
<div class="actions" part="actions">${control("call", 'class="primary"', "callAgain", ICONS.phone)}<button part="button close" data-action="close" data-t="close"></button></div>
</div></section>
<button class="launcher" part="launcher" data-action="launch">${ICONS.phone}<span class="label"></span></button>
<audio class="remote-audio" autoplay></audio></div>`;
	}

	bind() {
		const root = this.shadowRoot;
		root.addEventListener("click", (event) => {
			const button = event.target.closest("button");
			if (!button) return;
			const action = button.dataset.action;
			if (button.dataset.digit) this.sendDigits(button.dataset.digit);
			else if (action === "call" || action === "launch") this.call();
			else if (action === "hangup") this.hangup();
			else if (action === "mute") this.mute();
			else if (action === "keypad") this.toggleKeypad();
			else if (action === "video") this.toggleVideo();
			else if (action === "close") this.close();
			else if (action === "allow-camera" || action === "decline-camera") this.answerConsent(action === "allow-camera");
		});
		root.addEventListener("keydown", (event) => {
			const keypadOpen = !this.$(".keypad").hidden;
			if (event.key === "Escape") {
				if (keypadOpen) {
					this.toggleKeypad(false);
					this.$("[data-action=keypad]").focus();
				} else if (this._call) this.hangup();
				else if (this._state === "ended") this.close();
				else return;
				event.preventDefault();
			} else if (keypadOpen && /^[0-9*#]$/.test(event.key) && !event.target.closest("[data-digit]")) {
				this.sendDigits(event.key);
			}
		});
	}

	t(key) {
		return (STRINGS[this._language] || STRINGS.en)[key];
	}

	/** data-lang (`lang`), then the widget's appearance.language, then the browser's. */
	chooseLanguage() {
		const appearance = this._public?.appearance || {};
		this._language = pickLanguage([this.getAttribute("lang"), appearance.language, ...browserLanguages()]);
		const $ = this.$, t = (key) => this.t(key);
		const root = $(".root");
		root.dir = RTL.includes(this._language) || (document.dir === "rtl" && pickLanguage([document.documentElement.lang]) === this._language) ? "rtl" : "ltr";
		root.lang = this._language;
		const label = this.label();
		$(".launcher .label").textContent = label;
		$(".title").textContent = label === this.t("call") ? this.t("yourCall") : label;
		$(".timer").setAttribute("aria-label", t("duration"));
		$(".keypad").setAttribute("aria-label", t("keypad"));
		for (const el of this.shadowRoot.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
		this.render();
	}

	/** The shop's label, unless it is the default one or in another language. */
	label() {
		const pub = this._public;
		const labelLanguage = pub?.appearance?.language ? pickLanguage([pub.appearance.language]) : this._language;
		return pub?.label && pub.label !== STRINGS.en.call && labelLanguage === this._language ? pub.label : this.t("call");
	}

	config() {
		return {
			widget: this.getAttribute("widget"),
			gateway: (this.getAttribute("gateway") || ownOrigin).replace(/\/+$/, ""),
			tokenUrl: this.getAttribute("token-url")
		};
	}

	async loadPublic() {
		const { widget, gateway } = this.config();
		if (!widget) return console.warn("callme: the widget attribute (data-widget) is missing");
		const url = `${gateway}/v1/widgets/${encodeURIComponent(widget)}/public`;
		let pub = null;
		try {
			const response = await fetch(url, { mode: "cors", credentials: "omit" });
			if (response.ok) pub = await response.json();
			else this._refusal = { 403: "origin-not-allowed", 404: "not-available" }[response.status] || null;
		} catch (error) {
			if ((await refusedOrUnreachable(url)) === "origin-not-allowed") this._refusal = "origin-not-allowed";
		}
		if (this._refusal === "origin-not-allowed") console.warn(`callme: this page's origin (${location.origin}) is not in the widget's allowedOrigins`);
		if (pub) {
			this._public = pub;
			if (pub.enabled === false) this.hidden = true;
			this.applyAppearance(pub.appearance || {});
		}
		this.chooseLanguage();
	}

	applyAppearance(appearance) {
		const position = this.hasAttribute("data-script") ? appearance.position || "bottom-right" : this.getAttribute("position") || "inline";
		this.toggleAttribute("data-floating", position !== "inline");
		this.setAttribute("data-position", position);
		this.setAttribute("data-shape", appearance.shape || "pill");
		const rules = [];
		const primaryColor = hexToRgb(appearance.primaryColor) ? appearance.primaryColor : "#1d4ed8";
		if (appearance.primaryColor || appearance.textColor) {
			rules.push(`--callme-primary:${primaryColor}`, `--callme-focus:${primaryColor}`, `--callme-text:${readableText(primaryColor, appearance.textColor)}`);
		}
		// Inside the shadow tree, so that the page's own `callme-button { --callme-… }` rules win.
		const style = this.$("style.appearance") || this.shadowRoot.appendChild(document.createElement("style"));
		style.className = "appearance";
		style.textContent = `:host{${rules.join(";")}}`;
	}

	allowsVideo() {
		return !!this._public?.video;
	}

	// ---- the call

	setContext(context) {
		merge(this._context, context);
		return this;
	}

	sessionContext() {
		const context = merge(merge({}, sharedContext), this._context);
		context.pageUrl ??= location.href;
		context.pageTitle ??= document.title;
		return context;
	}

	async createSession() {
		const { widget, gateway, tokenUrl } = this.config();
		const context = this.sessionContext();
		const url = tokenUrl ? new URL(tokenUrl, location.href).href : `${gateway}/v1/widgets/${encodeURIComponent(widget)}/sessions`;
		const body = JSON.stringify(tokenUrl ? { widget, context } : { context });
		let response;
		try {
			response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body, credentials: tokenUrl ? "same-origin" : "omit" });
		} catch (error) {
			throw new CallError(tokenUrl ? "network" : await refusedOrUnreachable(url));
		}
		if (response.ok) return response.json();
		throw new CallError({ 403: "origin-not-allowed", 404: "not-available", 409: "unavailable", 429: "rate-limited" }[response.status] || "failed");
	}

	async call() {
		if (this._call) return false;
		const call = (this._call = new Call(this));
		this._cause = null;
		this.setCallState("permission");
		if (this._refusal) {
			call.finish(this._refusal);
			return false;
		}
		const session = (this._ready || Promise.resolve()).then(() => this.createSession());
		try {
			await call.start(session);
			return true;
		} catch (error) {
			call.finish(causeOfError(error), error && error.sipCode);
			return false;
		}
	}

	hangup() {
		if (this._call) this._call.hangup();
	}

	mute(muted) {
		if (!this._call) return false;
		const value = this._call.setMuted(muted === undefined ? !this._call.muted : !!muted);
		this.$("[data-action=mute]").setAttribute("aria-pressed", String(value));
		return value;
	}

	sendDigits(digits) {
		return !!this._call && (this._state === "in-call" || this._state === "hold") && this._call.sendDigits(digits);
	}

	getStats() {
		return this._call ? this._call.getStats() : Promise.resolve(NO_STATS);
	}

	toggleKeypad(open) {
		const pad = this.$(".keypad");
		const show = open === undefined ? pad.hidden : !!open;
		pad.hidden = !show;
		this.$("[data-action=keypad]").setAttribute("aria-expanded", String(show));
		if (show) this.$("[data-digit]").focus();
	}

	async toggleVideo() {
		if (!this._call || !this.allowsVideo()) return false;
		const on = await this._call.toggleVideo();
		this.setVideoActive(on);
		return on;
	}

	askForVideo() {
		this.$(".consent").hidden = false;
		this.$("[data-action=allow-camera]").focus();
		return new Promise((resolve) => {
			this._consent = resolve;
			this._consentTimer = setTimeout(() => this.answerConsent(false), 20000);
		});
	}

	answerConsent(yes) {
		clearTimeout(this._consentTimer);
		this.$(".consent").hidden = true;
		if (this._consent) this._consent(yes);
		this._consent = null;
		if (this._call) this.$("[data-action=hangup]").focus();
	}

	setVideoActive(on) {
		this.$("[data-action=video]").setAttribute("aria-pressed", String(!!on));
	}

	playRemoteAudio(stream) {
		const audio = this.$(".remote-audio");
		if (audio.srcObject !== stream) audio.srcObject = stream;
		audio.play().catch(() => {});
	}

	showVideo(which, stream) {
		const video = this.$(`.media .${which}`);
		video.srcObject = stream;
		video.hidden = !stream;
		if (stream) this.$(".media").hidden = false;
	}

	setHold(hold) {
		if (this._state === "in-call" && hold) this.setCallState("hold");
		else if (this._state === "hold" && !hold) this.setCallState("in-call");
	}

	setReconnecting(on) {
		this._reconnecting = on;
		this.render();
	}

	warn(type, detail = {}) {
		this.emit("warning", { type, ...detail });
	}

	show(state, cause) {
		const previous = this._state;
		this._state = state;
		this.setAttribute("data-state", state);
		if (cause) this.setAttribute("data-cause", cause);
		else this.removeAttribute("data-cause");
		this.render();
		return previous;
	}

	setCallState(state, detail = {}) {
		const previous = this.show(state);
		if (state === "in-call" && previous !== "hold") this.startTimer();
		// The launcher (or "call again") disappears as a call starts: focus goes to its cancel button.
		if (previous === "idle" || previous === "ended") this.$("[data-action=hangup]").focus();
		if (state === "ringing") this.emit("ringing", detail);
		if (state === "in-call" && previous !== "hold") this.emit("connected", detail);
	}

	callEnded(cause, sipCode) {
		this._call = null;
		clearInterval(this._timer);
		this._cause = cause;
		this._reconnecting = false;
		this.toggleKeypad(false);
		this.answerConsent(false);
		this.$(".media").hidden = true;
		this.$(".remote-audio").srcObject = null;
		this.$("[data-action=mute]").setAttribute("aria-pressed", "false");
		this.setVideoActive(false);
		this.show("ended", cause);
		this.$(".actions [data-action=call]").focus();
		this.emit("ended", { cause, sipCode });
	}

	close() {
		if (this._call) return;
		this.show("idle");
		this.$(".launcher").focus();
	}

	startTimer() {
		const start = Date.now(), timer = this.$(".timer");
		clearInterval(this._timer);
		timer.textContent = formatDuration(0);
		this._timer = setInterval(() => (timer.textContent = formatDuration(Math.floor((Date.now() - start) / 1000))), 1000);
	}

	emit(name, detail) {
		this.dispatchEvent(new CustomEvent("callme:" + name, { detail, bubbles: true, composed: true }));
	}

	render() {
		const $ = this.$, state = this._state, t = (key) => this.t(key);
		if (!$) return;
		const active = ACTIVE.has(state), live = state === "in-call" || state === "hold";
		$(".panel").hidden = state === "idle";
		$(".launcher").hidden = state !== "idle";
		for (const action of ["mute", "keypad"]) $(`[data-action=${action}]`).hidden = !live;
		$("[data-action=video]").hidden = !live || !this.allowsVideo();
		$(".controls").hidden = !active;
		$(".actions[part=actions]").hidden = state !== "ended";
		$(".timer").hidden = !live;
		$(".pulse").hidden = !active;
		$(".hangup .text").textContent = live ? t("hangup") : t("cancel");
		const [status, message] = {
			permission: [t("connecting"), t("permission")],
			connecting: [t("connecting"), ""],
			ringing: [t("ringing"), ""],
			"in-call": [this._reconnecting ? t("reconnecting") : t("inCall"), ""],
			hold: [t("inCall"), t("onHold")],
			ended: [/hangup|canceled/.test(this._cause) ? t("ended") : t("notPossible"), (STRINGS[this._language] || STRINGS.en).causes[this._cause] || ""]
		}[state] || ["", ""];
		$(".status").textContent = status;
		$(".message").textContent = message;
		$(".message").hidden = !message;
	}
}

if (!customElements.get("callme-button")) customElements.define("callme-button", CallMeButton);

// ---- The global API and the command queue

function primary() {
	return widgets.find((el) => el.hasAttribute("data-script")) || widgets[0] || null;
}

const withPrimary = (fn) => {
	const el = primary();
	return el ? Promise.resolve(fn(el)) : new Promise((resolve) => waitingForPrimary.push(resolve)).then(fn);
};

const api = function CallMe(...command) {
	return run(command);
};
Object.assign(api, {
	version: VERSION,
	call: () => withPrimary((el) => el.call()),
	hangup: () => primary() && primary().hangup(),
	mute: (muted) => !!primary() && primary().mute(muted),
	sendDigits: (digits) => !!primary() && primary().sendDigits(digits),
	setContext: (context) => (merge(sharedContext, context), api),
	getStats: () => (primary() ? primary().getStats() : Promise.resolve(NO_STATS)),
	getState: () => (primary() ? primary().state : "idle"),
	push: (...commands) => commands.map(run).pop()
});

function run(command) {
	if (typeof command === "function") return command(api);
	const [name, ...args] = Array.from(command || []);
	if (name === "push" || name === "version" || typeof api[name] !== "function") return console.warn(`callme: unknown command ${name}`);
	return api[name](...args);
}

const existing = window.CallMe;
const queued = Array.isArray(existing) ? existing.slice() : existing && Array.isArray(existing.q) ? existing.q.slice() : [];
window.CallMe = api;

function mountFromScript() {
	if (!ownScript || !ownScript.dataset.widget) return;
	const el = document.createElement("callme-button"), data = ownScript.dataset;
	const attributes = { widget: data.widget, gateway: data.gateway, "token-url": data.tokenUrl, lang: data.lang, "data-script": "", "data-floating": "", "data-position": "bottom-right" };
	for (const [name, value] of Object.entries(attributes)) if (value != null) el.setAttribute(name, value);
	document.body.appendChild(el);
}

for (const command of queued) {
	try {
		run(command);
	} catch (error) {
		console.error("callme:", error);
	}
}
if (document.body) mountFromScript();
else document.addEventListener("DOMContentLoaded", mountFromScript);
})();
