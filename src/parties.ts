/**
 * The composition root of bots and channels: gives the domain the registries it reaches them by
 * (see domain/parties.ts). Idempotent; every entry point that runs domain code calls it.
 */
import { engineOf } from './bots/registry.js';
import { channelOf } from './channels/registry.js';
import { wireParties } from './domain/parties.js';

export function connectParties(): void {
  wireParties({ engineOf, channelOf });
}
