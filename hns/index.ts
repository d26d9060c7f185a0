/**
 * The Platform on Windows, built on HCN: networks are HCN networks (network.ts), endpoints are HCN
 * endpoints added to the pod's HCN namespace, or hot-attached to the container by ID when
 * CNI_NETNS is not a namespace GUID (endpoint.ts, namespace.ts), port mappings and egress
 * limits are policies on them (port-mappings.ts, bandwidth.ts), all through the typed
 * HCN client over one transport. The transport is FFI to computenetwork.dll unless
 * CROSSCNI_HCN_TRANSPORT=powershell; CROSSCNI_HCN_LIBRARY points the FFI transport at one
 * library with the exports of computenetwork.dll, vmcompute.dll and ole32.dll (the HCN emulator,
 * in tests on Linux). Nothing here runs until a
 * method is called: koffi and PowerShell are reached on first use.
 */
import type { Platform } from '../platform/contract.ts';
import { PlatformError } from '../platform/errors.ts';
import * as bandwidth from './bandwidth.ts';
import { HcnClient } from './client.ts';
import { collectGarbage, createEndpoint, deleteEndpoint, inspectEndpoint } from './endpoint.ts';
import { WINDOWS_LIBRARY_PATHS, singleLibraryPaths } from './ffi/library.ts';
import { FfiTransport } from './ffi/transport.ts';
import { withFileLock } from './file-lock.ts';
import { WINDOWS_LOOPBACK, createHcnNamespace, deleteHcnNamespace } from './namespace.ts';
import { deleteNetwork, ensureNetwork, inspectNetwork } from './network.ts';
import * as portMappings from './port-mappings.ts';
import { PowerShellTransport } from './powershell/transport.ts';
import type { HcnTransport } from './transport.ts';

export interface WindowsPlatformOptions {
  /** A ready transport (tests); otherwise chosen from the environment. */
  transport?: HcnTransport;
  /** Where CROSSCNI_HCN_TRANSPORT and CROSSCNI_HCN_LIBRARY are read; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export function transportFromEnvironment(env: Readonly<Record<string, string | undefined>>): HcnTransport {
  const choice = env.CROSSCNI_HCN_TRANSPORT || 'ffi';
  if (choice === 'powershell') return new PowerShellTransport();
  if (choice !== 'ffi') {
    throw new PlatformError('invalid', `CROSSCNI_HCN_TRANSPORT=${choice}: expected "ffi" or "powershell"`);
  }
  const library = env.CROSSCNI_HCN_LIBRARY;
  return new FfiTransport(library ? singleLibraryPaths(library) : WINDOWS_LIBRARY_PATHS);
}

export function createWindowsPlatform(options: WindowsPlatformOptions = {}): Platform {
  const client = new HcnClient(options.transport ?? transportFromEnvironment(options.env ?? process.env));
  return {
    os: 'windows',
    ensureNetwork: (spec) => ensureNetwork(client, spec),
    inspectNetwork: (name, deviceName) => inspectNetwork(client, name, deviceName),
    deleteNetwork: (name) => deleteNetwork(client, name),
    createEndpoint: (network, spec) => createEndpoint(client, network, spec),
    inspectEndpoint: (ref) => inspectEndpoint(client, ref),
    deleteEndpoint: (teardown) => deleteEndpoint(client, teardown),
    collectGarbage: (network, _deviceName, valid) => collectGarbage(client, network, valid),
    addPortMappings: (target, mappings, options) =>
      portMappings.addPortMappings(client, target, mappings, options),
    removePortMappings: (target) => portMappings.removePortMappings(client, target),
    inspectPortMappings: (target) => portMappings.inspectPortMappings(client, target),
    // Forwardings and limits are endpoint policies: they go when GC removes the endpoint.
    collectPortMappings: async () => undefined,
    setBandwidth: (target, spec) => bandwidth.setBandwidth(client, target, spec),
    removeBandwidth: (target) => bandwidth.removeBandwidth(client, target),
    inspectBandwidth: (target) => bandwidth.inspectBandwidth(client, target),
    collectBandwidth: async () => undefined,
    // A compartment's loopback is up for its whole life and Windows offers no switch: setting it
    // up is already true, and taking it down (loopback DEL) has nothing to undo.
    setLoopback: async () => undefined,
    inspectLoopback: async () => ({ up: WINDOWS_LOOPBACK.up, addresses: [...WINDOWS_LOOPBACK.addresses] }),
    withFileLock,
    createNamespace: () => createHcnNamespace(client),
    deleteNamespace: (namespace) => deleteHcnNamespace(client, namespace),
  };
}
