// The generated clients over Connect-Web, same origin as the page.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "../../../../gen/ts/assist/v1/chat_service_pb.js";
import { PortalService } from "../../../../gen/ts/assist/v1/portal_service_pb.js";
import { AuthService } from "../../../../gen/ts/assist/v1/auth_service_pb.js";
import { SessionService } from "../../../../gen/ts/assist/v1/session_service_pb.js";
import { ReportService } from "../../../../gen/ts/assist/v1/report_service_pb.js";
import { AdminService } from "../../../../gen/ts/assist/v1/admin_service_pb.js";

const transport = createConnectTransport({ baseUrl: location.origin });

export const portalClient: Client<typeof PortalService> = createClient(PortalService, transport);
export const chatClient: Client<typeof ChatService> = createClient(ChatService, transport);
export const authClient: Client<typeof AuthService> = createClient(AuthService, transport);
export const sessionClient: Client<typeof SessionService> = createClient(SessionService, transport);
export const reportClient: Client<typeof ReportService> = createClient(ReportService, transport);
export const adminClient: Client<typeof AdminService> = createClient(AdminService, transport);

export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { Authorization: `Bearer ${token}` } };
}

// transient reports whether a call may succeed if retried as is.
export function transient(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unavailable || code === Code.Unknown || code === Code.DeadlineExceeded || code === Code.Aborted || code === Code.Internal;
}

export function errorCode(err: unknown): Code {
  return ConnectError.from(err).code;
}

export function errorText(err: unknown): string {
  return ConnectError.from(err).rawMessage;
}

export function newID(): string {
  return crypto.randomUUID();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export { Code, ConnectError };
