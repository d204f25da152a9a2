import { AirbyteLogger, type AirbyteMessage } from '../cdk';
import type { LogLevel, ProtocolWriter } from './output';

/**
 * The CDK's logger, routed through our ProtocolWriter so that CDK code and
 * streams log valid, redacted LOG messages and nothing else.
 */
export class ConnectorLogger extends AirbyteLogger {
  constructor(private readonly writer: ProtocolWriter) {
    super();
  }

  override write(message: AirbyteMessage): Promise<void> {
    const anyMessage = message as any;
    if (anyMessage?.type === 'LOG' && anyMessage.log) {
      this.writer.log(
        String(anyMessage.log.level).toUpperCase() as LogLevel,
        String(anyMessage.log.message),
        anyMessage.log.stack_trace,
      );
      return Promise.resolve();
    }
    // The CDK only writes other message types from code paths we do not use;
    // never let them reach stdout unvetted.
    this.writer.log('DEBUG', `Dropped a CDK ${String(anyMessage?.type)} message.`);
    return Promise.resolve();
  }
}
