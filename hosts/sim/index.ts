/**
 * Simulated ECMA-419 buses and devices for the desktop hosts (Node and the
 * XS test host) and for tests: an I²C initiator with a command-level SHT4x
 * model, an Analog input, a Digital pin, a simulated clock, and drifting
 * values for demos. No Node APIs: everything here also runs inside XS.
 *
 * ```ts
 * import { SimClock, SimI2C, Sht4xModel, SimAnalog, SimDigital, Drift } from "../hosts/sim";
 * ```
 */
export { SimClock } from "./clock";
export { SimI2C } from "./i2c";
export type { SimI2CModel, SimI2COptions } from "./i2c";
export { Sht4xModel } from "./sht4x-model";
export type { Sht4xModelOptions, SimI2CTransaction } from "./sht4x-model";
export { SimAnalog } from "./analog";
export type { SimAnalogOptions } from "./analog";
export { SimDigital } from "./digital";
export type { SimDigitalOptions } from "./digital";
export { Drift, Prng } from "./drift";
export type { DriftOptions } from "./drift";
