// Type declarations for the Switchboard "Call Me" widget (WebClient/callme.js).

export type CallMeState = "idle" | "permission" | "connecting" | "ringing" | "in-call" | "hold" | "ended";

/** Why a call ended (`callme:ended` detail.cause, and the element's `data-cause` attribute). */
export type CallMeEndCause =
  | "local-hangup" | "remote-hangup" | "canceled"
  | "busy"            // SIP 486, 600
  | "no-answer"       // SIP 480, 408: nobody answered or the call centre is closed
  | "not-available"   // SIP 403, 404, 604
  | "failed"          // any other failure
  | "network"         // the gateway could not be reached or the connection was lost
  | "microphone-denied" | "microphone-missing" | "microphone-busy"
  | "origin-not-allowed" // the page's origin is not in the widget's allowedOrigins
  | "rate-limited" | "unavailable" | "unsupported";

export type CallMeWarningType = "one-way-audio" | "high-loss" | "high-jitter" | "reconnecting" | "reconnected";

export interface CallMeRingingDetail { sipCode: number }
export interface CallMeConnectedDetail { sipCode: number }
export interface CallMeEndedDetail { cause: CallMeEndCause; sipCode: number | null }
export interface CallMeWarningDetail {
  type: CallMeWarningType;
  /** one-way-audio: which direction carries no packets. */
  direction?: "incoming" | "outgoing" | null;
  lossRate?: number;
  /** Seconds. */
  jitter?: number | null;
}

export interface CallMeStatsSummary {
  /** The audio inbound-rtp, outbound-rtp and media-source entries (totalAudioEnergy, totalSamplesDuration, …). */
  inbound: RTCInboundRtpStreamStats | null;
  outbound: RTCOutboundRtpStreamStats | null;
  source: Record<string, unknown> | null;
  /** 0..1 */
  audioLevelIn: number | null;
  audioLevelOut: number | null;
  packetsReceived: number;
  packetsLost: number;
  packetsSent: number;
  /** Seconds. */
  jitter: number | null;
  /** Seconds. */
  roundTripTime: number | null;
}

export interface CallMeStats {
  report: RTCStatsReport | null;
  /** The report's entries as an array. */
  stats: RTCStats[];
  summary: CallMeStatsSummary | null;
}

/** The caller context: free JSON, merged into what is sent when the session is created.
 * `pageUrl` and `pageTitle` are added unless set. */
export type CallMeContext = Record<string, unknown>;

export type CallMeCommand =
  | ["call"] | ["hangup"] | ["mute", boolean?] | ["sendDigits", string] | ["setContext", CallMeContext]
  | ["getStats"] | ["getState"]
  | ((api: CallMeApi) => unknown);

export interface CallMeApi {
  (...command: Extract<CallMeCommand, unknown[]>): unknown;
  readonly version: string;
  /** Places a call from the script's widget (or the first `<callme-button>`); false when it did not connect. */
  call(): Promise<boolean>;
  hangup(): void;
  /** Mutes (true), unmutes (false) or toggles (no argument) the microphone; returns the new state. */
  mute(muted?: boolean): boolean;
  /** DTMF digits 0-9, *, #, A-D; "," pauses. */
  sendDigits(digits: string): boolean;
  setContext(context: CallMeContext): CallMeApi;
  getStats(): Promise<CallMeStats>;
  getState(): CallMeState;
  /** Runs commands; before the script loads, `window.CallMe` is an array with the same `push`. */
  push(...commands: CallMeCommand[]): unknown;
}

/** `<callme-button widget="wid_…" gateway="https://…" token-url="/session" lang="de" position="inline">` */
export interface CallMeButtonElement extends HTMLElement {
  readonly state: CallMeState;
  call(): Promise<boolean>;
  hangup(): void;
  mute(muted?: boolean): boolean;
  sendDigits(digits: string): boolean;
  setContext(context: CallMeContext): this;
  getStats(): Promise<CallMeStats>;
}

declare global {
  interface Window {
    CallMe: CallMeApi | CallMeCommand[] | { q: CallMeCommand[] };
  }
  interface HTMLElementTagNameMap {
    "callme-button": CallMeButtonElement;
  }
  interface DocumentEventMap {
    "callme:ringing": CustomEvent<CallMeRingingDetail>;
    "callme:connected": CustomEvent<CallMeConnectedDetail>;
    "callme:ended": CustomEvent<CallMeEndedDetail>;
    "callme:warning": CustomEvent<CallMeWarningDetail>;
  }
  interface HTMLElementEventMap {
    "callme:ringing": CustomEvent<CallMeRingingDetail>;
    "callme:connected": CustomEvent<CallMeConnectedDetail>;
    "callme:ended": CustomEvent<CallMeEndedDetail>;
    "callme:warning": CustomEvent<CallMeWarningDetail>;
  }
}
