/**
 * The part of net-snmp 3.x (which ships no types) that the NTCIP agent and
 * manager use. Names and values follow node_modules/net-snmp/index.js.
 */
declare module 'net-snmp' {
  import type { Socket } from 'node:dgram';

  export const Version1: 0;
  export const Version2c: 1;
  export const ErrorStatus: {
    readonly NoError: 0;
    readonly TooBig: 1;
    readonly NoSuchName: 2;
    readonly BadValue: 3;
    readonly ReadOnly: 4;
    readonly GeneralError: 5;
    readonly NoAccess: 6;
    readonly WrongType: 7;
    readonly WrongValue: 10;
    readonly InconsistentValue: 12;
    readonly CommitFailed: 14;
    readonly NotWritable: 17;
  } & Record<string, number> & Record<number, string>;
  export const ObjectType: {
    readonly Integer: 2;
    readonly OctetString: 4;
    readonly Null: 5;
    readonly OID: 6;
    readonly Gauge32: 66;
    readonly NoSuchObject: 128;
    readonly NoSuchInstance: 129;
    readonly EndOfMibView: 130;
  } & Record<string, number>;
  export const PduType: { readonly GetRequest: 160; readonly GetNextRequest: 161; readonly GetResponse: 162; readonly SetRequest: 163; readonly GetBulkRequest: 165 } & Record<string, number>;
  export const MibProviderType: { readonly Scalar: 1; readonly Table: 2 };
  export const MaxAccess: Record<'not-accessible' | 'accessible-for-notify' | 'read-only' | 'read-write' | 'read-create', number>;
  export const AccessControlModelType: { readonly None: 0; readonly Simple: 1 };
  export const AccessLevel: { readonly None: 0; readonly ReadOnly: 1; readonly ReadWrite: 2 };

  export interface Varbind {
    oid: string;
    type?: number;
    value?: unknown;
  }

  export interface Constraints {
    ranges?: Array<{ min?: number; max?: number }>;
    sizes?: Array<{ min?: number; max?: number }>;
    enumeration?: Record<string, string>;
  }

  export interface MibNode {
    oid: string;
    value: unknown;
    valueType: number;
  }

  export interface MibRequest {
    readonly oid: string;
    readonly operation: number;
    readonly instanceNode: MibNode;
    readonly providerNode?: { provider: ProviderDefinition };
    setValue?: unknown;
    error?: { errorStatus: number };
    done(error?: { errorStatus: number; type?: number; value?: unknown }): void;
  }

  export interface TableColumn {
    number: number;
    name: string;
    type: number;
    maxAccess: number;
    constraints?: Constraints;
  }

  export interface ProviderDefinition {
    name: string;
    type: number;
    oid: string;
    scalarType?: number;
    maxAccess: number;
    tableColumns?: TableColumn[];
    tableIndex?: Array<{ columnName: string }>;
    constraints?: Constraints;
    handler?: (req: MibRequest) => void;
  }

  export interface Mib {
    registerProvider(p: ProviderDefinition): void;
    setScalarValue(name: string, value: unknown): void;
    addTableRow(name: string, row: unknown[]): void;
  }

  export interface SimpleAccessControlModel {
    setCommunityAccess(community: string, level: number): void;
  }

  export interface Authorizer {
    addCommunity(community: string): void;
    getAccessControlModel(): SimpleAccessControlModel;
  }

  export interface AgentOptions {
    port?: number;
    address?: string | null;
    transport?: 'udp4' | 'udp6';
    disableAuthorization?: boolean;
    accessControlModelType?: number;
  }

  export interface Agent {
    getMib(): Mib;
    getAuthorizer(): Authorizer;
    setBulkSetHandler(cb: (requests: MibRequest[], mib: Mib, testSet: boolean) => number | undefined): void;
    close(callback?: () => void): void;
    /** Internal: the bound sockets, keyed "transport:address:port". */
    readonly listener: { sockets: Record<string, Socket> };
  }

  export function createAgent(options: AgentOptions, callback: (error: Error | null, data: unknown) => void): Agent;

  export interface SessionOptions {
    port?: number;
    version?: number;
    timeout?: number;
    retries?: number;
    transport?: 'udp4' | 'udp6';
    backoff?: number;
  }

  export interface Session {
    get(oids: string[], cb: (error: Error | null, varbinds: Varbind[]) => void): void;
    set(varbinds: Varbind[], cb: (error: Error | null, varbinds: Varbind[]) => void): void;
    close(): void;
    on(event: 'error' | 'close', listener: (e?: Error) => void): this;
  }

  export function createSession(target: string, community: string, options?: SessionOptions): Session;
  export function isVarbindError(v: Varbind): boolean;
  export function varbindError(v: Varbind): string;

  export class RequestFailedError extends Error {
    status?: number;
  }
  export class RequestTimedOutError extends Error {}

  const snmp: {
    Version1: typeof Version1;
    Version2c: typeof Version2c;
    ErrorStatus: typeof ErrorStatus;
    ObjectType: typeof ObjectType;
    PduType: typeof PduType;
    MibProviderType: typeof MibProviderType;
    MaxAccess: typeof MaxAccess;
    AccessControlModelType: typeof AccessControlModelType;
    AccessLevel: typeof AccessLevel;
    createAgent: typeof createAgent;
    createSession: typeof createSession;
    isVarbindError: typeof isVarbindError;
    varbindError: typeof varbindError;
    RequestFailedError: typeof RequestFailedError;
    RequestTimedOutError: typeof RequestTimedOutError;
  };
  export default snmp;
}
