/**
 * Public surface of the controller adapter: the register map, the plan-block
 * codec, the virtual controller, and the Modbus TCP server and client.
 */
export * from './registerMap.js';
export { crc16ModbusRegisters, crc16ModbusBytes, encodePlanBlock, decodePlanBlock } from './codec.js';
export type { DecodeResult } from './codec.js';
export { ControllerError, ControllerErrorReason, ModbusException } from './errors.js';
export type { ControllerErrorDetails } from './errors.js';
export { VirtualController, MAX_SHORTEN_SHARE, MAX_LENGTHEN_SHARE } from './virtual/controller.js';
export type { VirtualControllerOptions, LampOutputs, ControllerState } from './virtual/controller.js';
export { ControllerServer } from './modbus/server.js';
export type { ControllerServerOptions, UnitBinding, ModbusRequestInfo } from './modbus/server.js';
export { ControllerClient, kDefaultClientOptions, decodeStatus } from './modbus/client.js';
export type { ControllerEndpoint, ControllerClientOptions, ControllerStatus, PushPlanOptions, PushResult, DetectorPoll } from './modbus/client.js';
