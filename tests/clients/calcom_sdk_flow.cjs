// Drives the official @calcom/sdk (unmodified) against a base URL and prints what it saw as JSON.
// Usage: node calcom_sdk_flow.cjs <baseUrl> <eventTypeId> <startTime> <endTime> <timeZone> <slotStart> <slotEnd> [accessToken]
const { Cal } = require("@calcom/sdk");

async function main() {
  const [baseUrl, eventTypeId, startTime, endTime, timeZone, slotStart, slotEnd, token] = process.argv.slice(2);
  const sdk = new Cal("client-id", { accessToken: "sdk-access-token" }, { baseUrl, httpRetries: { maxAmount: 0 } });
  if (token) {
    // calproxy holds slots only for a credential Cal.com accepts, and the SDK sends none on its "public"
    // slot endpoints: the deployment adds its API key to every request (the SDK's code is unchanged).
    sdk.httpCaller.axiosClient.defaults.headers.common["Authorization"] = `Bearer ${token}`;
  }
  const query = { eventTypeId: Number(eventTypeId), startTime, endTime, timeZone };
  const before = await sdk.slots.getAvailableSlots(query);
  const uid = await sdk.slots.reserveSlot({
    eventTypeId: Number(eventTypeId),
    slotUtcStartDate: slotStart,
    slotUtcEndDate: slotEnd,
  });
  const during = await sdk.slots.getAvailableSlots(query);
  const removed = await sdk.slots.removeSelectedSlot({ uid });
  const after = await sdk.slots.getAvailableSlots(query);
  process.stdout.write(JSON.stringify({ before, uid, during, removed, after }));
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error), statusCode: error.statusCode ?? null }));
  process.exit(1);
});
