import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { AetherisError, Code, Reason } from '../domain/errors.js';
import type { HandlerDeps } from '../server/handlers.js';
import { serverStream, unary } from '../server/handlers.js';

/**
 * An implementation of a contract whose RPCs are not built yet: every call is authenticated
 * and then answered with UNIMPLEMENTED (client streams are drained and answered the same way).
 */
export function unimplementedService(
  deps: HandlerDeps,
  service: string,
  definition: ServiceDefinition,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const rpc = method.path.split('/').pop() ?? name;
    const fail = async (): Promise<never> => {
      throw new AetherisError({
        code: Code.UNIMPLEMENTED,
        reason: Reason.UNIMPLEMENTED,
        message: `${service}/${rpc} is not implemented yet (see docs/STATUS.md)`,
      });
    };
    if (method.responseStream && !method.requestStream) {
      implementation[name] = serverStream(deps, method.path, null, fail);
    } else if (!method.requestStream) {
      implementation[name] = unary(deps, method.path, null, fail);
    } else {
      // Client or bidi streams: reject before reading anything.
      implementation[name] = (
        call: { destroy?: (error: Error) => void; end?: () => void; emit: (event: string, error: Error) => void },
        callback?: (error: Error) => void,
      ) => {
        const error = Object.assign(new Error(`${service}/${rpc} is not implemented yet`), {
          code: Code.UNIMPLEMENTED,
        });
        if (callback) callback(error);
        else call.emit('error', error);
      };
    }
  }
  return implementation;
}
