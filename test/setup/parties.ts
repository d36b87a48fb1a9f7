// Tests call domain services directly too (with a store, no app): wire the bot engines and
// channels those services reach, as every entry point of relevo does.
import { connectParties } from '../../src/parties.js';

connectParties();
