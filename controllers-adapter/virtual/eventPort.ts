/**
 * The virtual controller's event log as a port: the high-resolution log it records when asked
 * (./events.ts ControllerEventLog) and, when it serves that log to central, the FIFO behind the
 * register map's event block (./eventFifo.ts, holding HR_EVENTS..). Keeps the two together
 * so the controller (./controller.ts) only says when to drain and where registers go: the
 * log's buffer is drained into the FIFO before every read of the block and on every tick,
 * so it never accumulates however rarely central reads. Owned by VirtualController.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { CycleRunner } from '../../engine/runner/cycleRunner.js';
import { OptionError } from '../../engine/errors.js';
import { ModbusException } from '../errors.js';
import { EV_BLOCK_LENGTH, MODBUS_MAX_WRITE_REGISTERS, ModbusExceptionCode } from '../registerMap.js';
import { checkRange } from './planStore.js';
import { ControllerEventLog, type ControllerEventLogOptions } from './events.js';
import { EventFifo, noEventLogBlock } from './eventFifo.js';

export interface ServeEventLogOptions {
  /** Records the FIFO holds (./eventFifo.ts DEFAULT_EVENT_FIFO_RECORDS by default). */
  readonly capacity?: number;
  readonly epochMs?: number;
  /** 1..65535 (random by default: new at every power-up). */
  readonly logId?: number;
}

export class EventLogPort {
  /** The log, once recording (record); undefined = not recording. */
  log: ControllerEventLog | undefined = undefined;
  /** The FIFO central reads, once served (serve); undefined = the block reads log id 0. */
  private fifo: EventFifo | undefined = undefined;

  constructor(
    private readonly c: CompiledNetwork,
    private readonly intersection: number,
    private readonly runner: CycleRunner,
  ) {}

  /** Starts the log from now (the active plan `planId`), or returns the one running. */
  record(planId: number, opts: ControllerEventLogOptions = {}): ControllerEventLog {
    this.log ??= new ControllerEventLog(this.c, this.intersection, this.runner, planId, opts);
    return this.log;
  }

  /** Records (as record) and serves the log through a FIFO; needs the log's own buffer. */
  serve(planId: number, opts: ServeEventLogOptions = {}): EventFifo {
    if (this.fifo) return this.fifo;
    const log = this.record(planId, opts.epochMs === undefined ? {} : { epochMs: opts.epochMs });
    if (log.events.locations.length !== 1) throw new OptionError('serveEventLog', 'the event log shares its buffer with other controllers; a FIFO would empty it');
    this.fifo = new EventFifo(opts.capacity, opts.logId);
    return this.fifo;
  }

  /** Moves what the log wrote (and detector-offs due by `nowS`) into the FIFO. */
  drain(nowS: number): void {
    if (!this.fifo || !this.log) return;
    this.log.flush(nowS);
    this.fifo.drain(this.log.events);
  }

  /** Registers [offset, offset + count) of the event block, as of `nowS`. */
  read(offset: number, count: number, nowS: number): number[] {
    this.drain(nowS);
    return this.fifo ? this.fifo.read(offset, count) : noEventLogBlock(offset, count);
  }

  /** FC6/FC16 at `offset` within the block: only the cursor, and only when the log is served. */
  write(offset: number, values: readonly number[]): void {
    if (!this.fifo) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, 'this controller keeps no event log (event block reads log id 0)');
    checkRange(offset, values.length, EV_BLOCK_LENGTH, MODBUS_MAX_WRITE_REGISTERS, 'event block');
    this.fifo.write(offset, values);
  }
}
