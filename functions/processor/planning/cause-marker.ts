// How postload recognises the dbt Cloud runs it started. Every run's cause ends with
// ` [event <id>]`, the id of the SyncEvent that started it; dbt Cloud repeats the cause on
// the run's trigger and in its webhooks (`runReason`). The description before it holds
// vendor text (a connector name), so the marker is read only where the vendor cannot write:
// at the very end, after vendor text has been stripped of brackets (vendorText below). A
// connector named "x [event <another id>]" can neither fake nor displace it.

/** The suffix every cause ends with. */
export function causeMarker(eventId: string): string {
  return ` [event ${eventId}]`;
}

const AT_THE_END = /\s\[event ([0-9a-f]{32})\]$/;

/** The event id of the marker a cause ends with, or undefined when it ends with none (a scheduled run, one started by hand). */
export function markedEventId(cause: string | null | undefined): string | undefined {
  return typeof cause === 'string' ? AT_THE_END.exec(cause)?.[1] : undefined;
}

/** Vendor text as it may appear in a cause: without brackets, so it cannot write a marker. */
export function vendorText(text: string): string {
  return text.replace(/[[\]]/g, '');
}
