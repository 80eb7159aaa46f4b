// Relay driver against the simulated Digital pin (hosts/sim): pin levels for
// active-high and active-low, the safe initial state, the injected mode
// constant, validation and the ECMA-419 lifecycle.
import test from "tape";
import { Relay } from "../../modules/sensors/relay";
import type { RelayOptions } from "../../modules/sensors/relay";
import type { DigitalOptions } from "../../modules/sensors/io-types";
import { SensorError, SensorErrorCode } from "../../modules/sensors/sensor-error";
import { SimDigital } from "../../hosts/sim/digital";

/** SimDigital that remembers its instances and options. */
class SpyDigital extends SimDigital {
  static instances: SpyDigital[] = [];
  static options: DigitalOptions[] = [];
  constructor(options: DigitalOptions) {
    super(options);
    SpyDigital.instances.push(this);
    SpyDigital.options.push(options);
  }
}

function relay(options: Partial<RelayOptions> = {}, sensor: Partial<RelayOptions["sensor"]> = {}): { relay: Relay; pin: SpyDigital } {
  SpyDigital.instances = [];
  SpyDigital.options = [];
  const r = new Relay({ sensor: { io: SpyDigital, pin: 5, ...sensor }, ...options });
  return { relay: r, pin: SpyDigital.instances[0] };
}

const closedError = (err: unknown) => err instanceof SensorError && err.code === SensorErrorCode.Closed;

test("active-high: off (0) from construction, 1 for on", (t) => {
  const { relay: r, pin } = relay();
  t.equal(pin.mode, SimDigital.Output, "mode from the injected class's Output constant (ECMA-419 §10.1)");
  t.equal(pin.initialValue, 0, "initialValue = off level");
  t.equal(SpyDigital.options[0].activeLow, false, "the IO never inverts");
  t.deepEqual(pin.writes, [0], "off written at construction");
  t.equal(r.read(), false);
  r.write(true);
  t.equal(pin.level, 1);
  t.equal(r.read(), true);
  r.write(false);
  t.deepEqual(pin.writes, [0, 1, 0]);
  t.equal(r.read(), false);
  r.close();
  t.end();
});

test("active-low: off is 1, on drives the pin to 0", (t) => {
  const { relay: r, pin } = relay({ activeLow: true });
  t.equal(r.activeLow, true);
  t.equal(pin.initialValue, 1, "initialValue = 1 so a 3rd-edition host never glitches on");
  t.deepEqual(pin.writes, [1], "off (1) written at construction");
  r.write(true);
  t.equal(pin.level, 0, "on = low");
  t.equal(r.read(), true, "read is the state, not the level");
  r.write(true);
  t.deepEqual(pin.writes, [1, 0, 0], "every write reaches the pin");
  r.write(false);
  t.equal(pin.level, 1);
  t.equal(r.read(), false);
  r.close();
  t.end();
});

test("read never touches the pin (a Digital output has no read, ECMA-419 §10.1)", (t) => {
  const { relay: r, pin } = relay();
  t.throws(() => pin.read(), Error, "the simulated output refuses read, as the spec says");
  r.write(true);
  t.doesNotThrow(() => r.read());
  r.close();
  t.end();
});

test("sensor.mode overrides the Output constant (e.g. open drain)", (t) => {
  const { relay: r, pin } = relay({}, { mode: SimDigital.OutputOpenDrain });
  t.equal(pin.mode, SimDigital.OutputOpenDrain);
  r.close();
  t.end();
});

test("no mode and no Output constant: TypeError before anything is opened", (t) => {
  let opened = 0;
  class NoConstants {
    constructor() {
      opened++;
    }
    write(): void {}
    close(): void {}
  }
  t.throws(() => new Relay({ sensor: { io: NoConstants, pin: 1 } }), TypeError);
  t.equal(opened, 0);
  t.end();
});

test("constructor and write validate their arguments", (t) => {
  t.throws(() => new Relay(undefined as unknown as RelayOptions), TypeError);
  t.throws(() => new Relay({} as RelayOptions), TypeError);
  t.throws(() => new Relay({ sensor: { io: SimDigital, pin: 1 }, activeLow: "yes" as unknown as boolean }), TypeError);
  const { relay: r, pin } = relay();
  t.throws(() => r.write(1 as unknown as boolean), TypeError, "1 is not a boolean");
  t.throws(() => r.write(undefined as unknown as boolean), TypeError);
  t.deepEqual(pin.writes, [0], "nothing written by the rejected calls");
  t.throws(() => r.configure(null as unknown as object), TypeError);
  t.doesNotThrow(() => r.configure({}));
  r.close();
  t.end();
});

test("close switches the load off, then releases the pin; methods then throw Closed", (t) => {
  const { relay: r, pin } = relay({ activeLow: true, target: "heater" });
  t.equal(r.target, "heater");
  r.write(true);
  r.close();
  t.deepEqual(pin.writes, [1, 0, 1], "off written before release");
  t.equal(pin.closed, true);
  r.close();
  t.equal(pin.writeCount, 3, "second close does nothing");
  t.throws(() => r.write(true), closedError);
  t.throws(() => r.read(), closedError);
  t.throws(() => r.configure({}), closedError);
  t.end();
});

test("a pin that fails the first write is closed and the error propagates", (t) => {
  let closed = 0;
  class Broken {
    static Output = 9;
    write(): void {
      throw new Error("pin fault");
    }
    close(): void {
      closed++;
    }
  }
  t.throws(() => new Relay({ sensor: { io: Broken, pin: 1 } }), (err: unknown) => err instanceof Error && err.message === "pin fault");
  t.equal(closed, 1);
  t.end();
});
