/**
 * The agent's MIB: which NTCIP 1202 / 1201 objects exist, their types and
 * access, and the rows a walk finds. Called once by NtcipAgent.start
 * (./agent.ts); every GET then goes to the agent's handler for the live
 * value, and every SET to its bulk-set handler.
 */
import snmp, { type Agent, type MibRequest, type ProviderDefinition, type TableColumn } from 'net-snmp';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { MAX_COMM_LOSS_TIMEOUT_S } from '../registerMap.js';
import { sequenceCount, sequenceData, type PhaseProgram } from './convert.js';
import type { Model } from './model.js';
import { actionOid, type TimeBaseTables } from './timeBase.js';
import {
  COORD_CYCLE_STATUS,
  COORD_FORCE_MODE,
  COORD_MAXIMUM_MODE,
  COORD_OPERATIONAL_MODE,
  COORD_PATTERN_STATUS,
  CoordForceMode,
  CoordMaximumMode,
  DAY_PLAN_ENTRY,
  DAY_PLAN_STATUS,
  DayPlanColumn,
  MAX_DAY_PLAN_EVENTS,
  MAX_DAY_PLANS,
  MAX_TIME_BASE_SCHEDULE_ENTRIES,
  MAX_TIMEBASE_ASC_ACTIONS,
  PATTERN_ENTRY,
  PatternColumn,
  PHASE_ENTRY,
  PHASE_STATUS_GROUP_ENTRY,
  PhaseColumn,
  PhaseStatusGroupColumn,
  SEQUENCE_ENTRY,
  SequenceColumn,
  SPLIT_ENTRY,
  SplitColumn,
  SYSTEM_PATTERN_CONTROL,
  SYSTEM_SYNC_CONTROL,
  TIME_BASE_SCHEDULE_ENTRY,
  TIMEBASE_ACTION_ENTRY,
  TIMEBASE_ASC_ACTION_STATUS,
  TimeBaseScheduleColumn,
  TimebaseActionColumn,
  UNIT_BACKUP_TIME,
} from './oids.js';

const INT8: TableColumn['constraints'] = { ranges: [{ min: 0, max: 255 }] };

/** What the MIB is built from: the intersection, its phase program, the tables at start, and the communities. */
export interface MibSource {
  readonly c: CompiledNetwork;
  readonly intersection: number;
  readonly program: readonly PhaseProgram[];
  readonly model: Model;
  readonly dayPlan: TimeBaseTables | undefined;
  readonly readCommunity: string | undefined;
  readonly writeCommunity: string | undefined;
}

/**
 * Registers the phase, phase status group, pattern, split and sequence tables and the
 * scalars, with the rows of `src`, and the time base (installTimeBase). Values served live
 * come from `handler` on every GET; the rows here are only what a walk finds.
 */
export function registerMib(agent: Agent, src: MibSource, handler: (req: MibRequest) => void): void {
  const mib = agent.getMib();
  const auth = agent.getAuthorizer();
  const read = src.readCommunity ?? 'public';
  const write = src.writeCommunity ?? 'private';
  auth.addCommunity(read);
  auth.addCommunity(write);
  const acm = auth.getAccessControlModel();
  acm.setCommunityAccess(read, snmp.AccessLevel.ReadOnly);
  acm.setCommunityAccess(write, snmp.AccessLevel.ReadWrite);

  const RO = snmp.MaxAccess['read-only'];
  const RW = snmp.MaxAccess['read-write'];
  const INT = snmp.ObjectType.Integer;
  const col = (number: number, name: string, maxAccess: number, type: number = INT): TableColumn => ({ number, name, type, maxAccess, ...(type === INT ? { constraints: INT8 } : {}) });
  const table = (name: string, entry: string, columns: TableColumn[], index: string[]): ProviderDefinition => ({ name, type: snmp.MibProviderType.Table, oid: entry, maxAccess: snmp.MaxAccess['not-accessible'], tableColumns: columns, tableIndex: index.map((columnName) => ({ columnName })), handler });
  const scalar = (name: string, oid: string, maxAccess: number, max = 255): ProviderDefinition => ({ name, type: snmp.MibProviderType.Scalar, oid, scalarType: INT, maxAccess, constraints: { ranges: [{ min: 0, max }] }, handler });

  mib.registerProvider(
    table('phaseTable', PHASE_ENTRY, [col(PhaseColumn.Number, 'phaseNumber', RO), col(PhaseColumn.Walk, 'phaseWalk', RO), col(PhaseColumn.PedestrianClear, 'phasePedestrianClear', RO), col(PhaseColumn.MinimumGreen, 'phaseMinimumGreen', RW), col(PhaseColumn.Passage, 'phasePassage', RW), col(PhaseColumn.Maximum1, 'phaseMaximum1', RW), col(PhaseColumn.Maximum2, 'phaseMaximum2', RO), col(PhaseColumn.YellowChange, 'phaseYellowChange', RO), col(PhaseColumn.RedClear, 'phaseRedClear', RO), col(PhaseColumn.Ring, 'phaseRing', RO)], ['phaseNumber']),
  );
  src.program.forEach((p, k) => mib.addTableRow('phaseTable', [k + 1, p.walkS, p.pedestrianClearS, src.model.phases[k]!.minimumGreenS, src.model.phases[k]!.passageDs, src.model.phases[k]!.maximum1S, p.maximum2S, p.yellowChangeDs, p.redClearDs, p.ring]));

  mib.registerProvider(table('phaseStatusGroupTable', PHASE_STATUS_GROUP_ENTRY, [col(PhaseStatusGroupColumn.Number, 'phaseStatusGroupNumber', RO), col(PhaseStatusGroupColumn.Reds, 'phaseStatusGroupReds', RO), col(PhaseStatusGroupColumn.Yellows, 'phaseStatusGroupYellows', RO), col(PhaseStatusGroupColumn.Greens, 'phaseStatusGroupGreens', RO)], ['phaseStatusGroupNumber']));
  for (let g = 1; g <= Math.ceil(src.program.length / 8); g++) mib.addTableRow('phaseStatusGroupTable', [g, 0, 0, 0]);

  mib.registerProvider(table('patternTable', PATTERN_ENTRY, [col(PatternColumn.Number, 'patternNumber', RO), col(PatternColumn.CycleTime, 'patternCycleTime', RW), col(PatternColumn.OffsetTime, 'patternOffsetTime', RW), col(PatternColumn.SplitNumber, 'patternSplitNumber', RW), col(PatternColumn.SequenceNumber, 'patternSequenceNumber', RW)], ['patternNumber']));
  src.model.patterns.forEach((p, k) => mib.addTableRow('patternTable', [k + 1, p.cycleS, p.offsetS, p.splitNumber, p.sequence]));

  mib.registerProvider(table('splitTable', SPLIT_ENTRY, [col(SplitColumn.Number, 'splitNumber', RO), col(SplitColumn.Phase, 'splitPhase', RO), col(SplitColumn.Time, 'splitTime', RW), col(SplitColumn.Mode, 'splitMode', RW), col(SplitColumn.CoordPhase, 'splitCoordPhase', RW)], ['splitNumber', 'splitPhase']));
  src.model.splits.forEach((rows, t) => rows.forEach((s, k) => mib.addTableRow('splitTable', [t + 1, k + 1, s.timeS, s.mode, s.coord])));

  mib.registerProvider(table('sequenceTable', SEQUENCE_ENTRY, [col(SequenceColumn.Number, 'sequenceNumber', RO), col(SequenceColumn.Ring, 'sequenceRingNumber', RO), col(SequenceColumn.Data, 'sequenceData', RO, snmp.ObjectType.OctetString)], ['sequenceNumber', 'sequenceRingNumber']));
  const { c, intersection: i } = src;
  for (let s = 1; s <= sequenceCount(c, i); s++) for (let r = 1; r <= c.ringCount[i]!; r++) mib.addTableRow('sequenceTable', [s, r, Buffer.from(sequenceData(c, i, s, r))]);

  mib.registerProvider(scalar('unitBackupTime', UNIT_BACKUP_TIME, RW, MAX_COMM_LOSS_TIMEOUT_S));
  mib.setScalarValue('unitBackupTime', src.model.backupS);
  mib.registerProvider(scalar('coordPatternStatus', COORD_PATTERN_STATUS, RO));
  mib.setScalarValue('coordPatternStatus', 0);
  mib.registerProvider(scalar('coordCycleStatus', COORD_CYCLE_STATUS, RO, 65535));
  mib.setScalarValue('coordCycleStatus', 0);
  mib.registerProvider(scalar('systemPatternControl', SYSTEM_PATTERN_CONTROL, RW));
  mib.setScalarValue('systemPatternControl', 0);
  mib.registerProvider(scalar('systemSyncControl', SYSTEM_SYNC_CONTROL, RW));
  mib.setScalarValue('systemSyncControl', 0);
  mib.registerProvider(scalar('coordOperationalMode', COORD_OPERATIONAL_MODE, RW));
  mib.setScalarValue('coordOperationalMode', src.model.opMode);
  // Actuated-coordinated operation as greenwave runs it: maximum 1 applies, force-offs are fixed.
  mib.registerProvider(scalar('coordMaximumMode', COORD_MAXIMUM_MODE, RO));
  mib.setScalarValue('coordMaximumMode', CoordMaximumMode.Maximum1);
  mib.registerProvider(scalar('coordForceMode', COORD_FORCE_MODE, RO));
  mib.setScalarValue('coordForceMode', CoordForceMode.Fixed);
  installTimeBase(agent, src.dayPlan, handler);
}

/** NTCIP 1202 timebaseAsc and NTCIP 1201 timebase objects (read-only), from the day plan given at start. */
function installTimeBase(agent: Agent, tb: TimeBaseTables | undefined, handler: (req: MibRequest) => void): void {
  const mib = agent.getMib();
  const RO = snmp.MaxAccess['read-only'];
  const INT = snmp.ObjectType.Integer;
  const col = (number: number, name: string, type: number = INT): TableColumn => ({ number, name, type, maxAccess: RO });
  const table = (name: string, entry: string, columns: TableColumn[], index: string[]): ProviderDefinition => ({ name, type: snmp.MibProviderType.Table, oid: entry, maxAccess: snmp.MaxAccess['not-accessible'], tableColumns: columns, tableIndex: index.map((columnName) => ({ columnName })), handler });
  const scalar = (name: string, oid: string, value: number): void => {
    mib.registerProvider({ name, type: snmp.MibProviderType.Scalar, oid, scalarType: INT, maxAccess: RO, handler });
    mib.setScalarValue(name, value);
  };
  const actions = tb?.actionPattern ?? [];
  const events = tb?.events ?? [];
  scalar('maxTimebaseAscActions', MAX_TIMEBASE_ASC_ACTIONS, actions.length);
  mib.registerProvider(table('timebaseAscActionTable', TIMEBASE_ACTION_ENTRY, [col(TimebaseActionColumn.Number, 'timebaseAscActionNumber'), col(TimebaseActionColumn.Pattern, 'timebaseAscPattern'), col(TimebaseActionColumn.AuxillaryFunction, 'timebaseAscAuxillaryFunction'), col(TimebaseActionColumn.SpecialFunction, 'timebaseAscSpecialFunction')], ['timebaseAscActionNumber']));
  actions.forEach((pattern, k) => mib.addTableRow('timebaseAscActionTable', [k + 1, pattern, 0, 0]));
  scalar('timebaseAscActionStatus', TIMEBASE_ASC_ACTION_STATUS, 0);
  scalar('maxTimeBaseScheduleEntries', MAX_TIME_BASE_SCHEDULE_ENTRIES, tb ? 1 : 0);
  mib.registerProvider(table('timeBaseScheduleTable', TIME_BASE_SCHEDULE_ENTRY, [col(TimeBaseScheduleColumn.Number, 'timeBaseScheduleNumber'), col(TimeBaseScheduleColumn.Month, 'timeBaseScheduleMonth'), col(TimeBaseScheduleColumn.Day, 'timeBaseScheduleDay'), col(TimeBaseScheduleColumn.Date, 'timeBaseScheduleDate', snmp.ObjectType.Gauge32), col(TimeBaseScheduleColumn.DayPlan, 'timeBaseScheduleDayPlan')], ['timeBaseScheduleNumber']));
  if (tb) mib.addTableRow('timeBaseScheduleTable', [1, tb.schedule.month, tb.schedule.day, tb.schedule.date, tb.schedule.dayPlan]);
  scalar('maxDayPlans', MAX_DAY_PLANS, tb ? 1 : 0);
  scalar('maxDayPlanEvents', MAX_DAY_PLAN_EVENTS, events.length);
  mib.registerProvider(table('timeBaseDayPlanTable', DAY_PLAN_ENTRY, [col(DayPlanColumn.Number, 'dayPlanNumber'), col(DayPlanColumn.EventNumber, 'dayPlanEventNumber'), col(DayPlanColumn.Hour, 'dayPlanHour'), col(DayPlanColumn.Minute, 'dayPlanMinute'), col(DayPlanColumn.ActionNumberOid, 'dayPlanActionNumberOID', snmp.ObjectType.OID)], ['dayPlanNumber', 'dayPlanEventNumber']));
  events.forEach((e, k) => mib.addTableRow('timeBaseDayPlanTable', [1, k + 1, e.hour, e.minute, actionOid(e.action)]));
  scalar('dayPlanStatus', DAY_PLAN_STATUS, 0);
}

