import type { CircuitState, HealthCheck, HttpClient } from '@self-healing-shop/resilience';

export interface Confirmation {
  readonly orderId: string;
  readonly recipient: string;
  readonly payload: Record<string, unknown>;
}

export interface NotificationClient {
  readonly circuitState: CircuitState;
  /** Sends the order confirmation; idempotent on orderId + kind, so a redelivery never notifies twice. */
  sendConfirmation(confirmation: Confirmation, requestId?: string): Promise<'sent' | 'duplicate'>;
  healthCheck(): HealthCheck;
  onCircuitStateChange(listener: (change: { from: CircuitState; to: CircuitState }) => void): {
    dispose(): void;
  };
  dispose(): void;
}

/**
 * Notification's internal API over the resilient client of dependency `notification`. The POST carries an
 * Idempotency-Key, so the client retries it on a fresh connection and hedges it (dependency-clients.ts).
 */
export function createNotificationClient(http: HttpClient): NotificationClient {
  return {
    get circuitState() {
      return http.circuitState;
    },
    async sendConfirmation({ orderId, recipient, payload }, requestId) {
      const { status } = await http.post(
        '/notifications',
        { orderId, kind: 'order-confirmation', channel: 'email', recipient, payload },
        { idempotencyKey: `order-confirmation:${orderId}`, ...(requestId ? { requestId } : {}) },
      );
      return status === 201 ? 'sent' : 'duplicate';
    },
    healthCheck: () => http.healthCheck(),
    onCircuitStateChange: (listener) => http.policy.onCircuitStateChange(listener),
    dispose: () => http.dispose(),
  };
}
