/**
 * Public surface of the controller adapter: the register map, the plan-block
 * codec, the virtual controller, the Modbus TCP and RTU servers and the client
 * (TCP or RTU endpoints), and the NTCIP 1202 (SNMP) agent and manager.
 */
export * from './registerMap.js';
export { crc16ModbusRegisters, crc16ModbusBytes, encodePlanBlock, decodePlanBlock } from './codec.js';
export type { DecodeResult } from './codec.js';
export { ControllerError, ControllerErrorReason, ModbusException } from './errors.js';
export type { ControllerErrorDetails } from './errors.js';
export { VirtualController, MAX_SHORTEN_SHARE, MAX_LENGTHEN_SHARE } from './virtual/controller.js';
export type { VirtualControllerOptions, LampOutputs, ControllerState } from './virtual/controller.js';
export { ControllerServer } from './modbus/server.js';
export type { ControllerServerOptions, UnitBinding, ModbusRequestInfo, ServerStats } from './modbus/server.js';
export { RtuControllerServer, frameLength as rtuFrameLength, rtuFrame } from './rtu/server.js';
export type { RtuServerOptions, RtuServerStats } from './rtu/server.js';
export { ControllerClient, kDefaultClientOptions, decodeStatus } from './modbus/client.js';
export type { ControllerEndpoint, AnyControllerEndpoint, RtuControllerEndpoint, ControllerClientOptions, ControllerStatus, PushPlanOptions, PushResult, DetectorPoll } from './modbus/client.js';
export { NtcipAgent } from './ntcip/agent.js';
export type { NtcipAgentOptions } from './ntcip/agent.js';
export { NtcipManager } from './ntcip/manager.js';
export type { NtcipManagerOptions, PushPatternResult } from './ntcip/manager.js';
export { patternToPlan, planToPattern, phaseProgram, phaseMinimumS, sequenceCount, sequenceOrder, sequenceData } from './ntcip/convert.js';
export type { PatternTables, PhaseProgram } from './ntcip/convert.js';
export * as ntcipOids from './ntcip/oids.js';
export { PublishedPlan, publishersFor, PUBLISHED_LENGTH } from './modbus/planPublisher.js';
export type { RegisterUnit } from './modbus/server.js';
export { DetectorCountAccumulator } from './detectorCounts.js';
