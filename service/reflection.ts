/**
 * Server reflection (grpc.reflection.v1 and v1alpha, from @grpc/reflection) behind the
 * governor, so that grpcurl, Postman and other reflection-aware clients work without a
 * token while no client can hold the server's memory with reflection streams: each
 * ServerReflectionInfo stream passes the gate (deadline, shutdown) and takes one of
 * `maxReflectionStreams` places, a budget apart from the authenticated streams'
 * (RESOURCE_EXHAUSTED naming the limit when full), given back when the stream ends.
 * Called once by startServer (./server.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { CallGate } from './calls.js';
import { toGrpcStatus } from './errors.js';
import type { Governor, Release } from './governance.js';
import type { Obj } from './messages.js';

type ReflectionHandler = (stream: grpc.ServerDuplexStream<Obj, Obj>) => void;

export function addReflection(server: grpc.Server, pkgDef: PackageDefinition, gate: CallGate, gov: Governor): void {
  // The library registers its handlers through addService; this stand-in wraps each one on the way.
  const governed = {
    addService(def: grpc.ServiceDefinition, impl: Record<string, ReflectionHandler>): void {
      const inner = impl['ServerReflectionInfo']!;
      server.addService(def, {
        ServerReflectionInfo: (stream: grpc.ServerDuplexStream<Obj, Obj>) => {
          let release: Release;
          try {
            gate.admit(stream, null);
            release = gov.enterReflection();
          } catch (e: unknown) {
            stream.emit('error', toGrpcStatus(e));
            return;
          }
          for (const ev of ['cancelled', 'close', 'finish', 'error']) stream.on(ev, release);
          inner(stream);
        },
      });
    },
  };
  new ReflectionService(pkgDef).addToServer(governed as unknown as grpc.Server);
}
