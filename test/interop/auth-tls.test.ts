/**
 * Interop, authentication, authorization and TLS: user name and password,
 * a wrong password (error with the broker's code, backoff, no storm), ACL
 * denials, and `mqtts://` with a generated CA (verified, and refused with a
 * wrong CA), against Mosquitto (3.1.1 and 5.0; password file, ACL file, TLS
 * listener) and aedes (3.1.1; hooks), with the client on every host.
 */
import { forEachHost, run } from "./support/harness";
import { brokers } from "./support/brokers";
import {
  MOSQUITTO_ACL,
  MOSQUITTO_USERS,
  aedesAclDenial,
  aedesAuthOptions,
  mosquittoAclDenial,
  passwordAccepted,
  tlsVerified,
  tlsWrongCa,
  wrongPassword,
} from "./scenarios/auth";

const set = brokers({
  mosquitto: { users: { ...MOSQUITTO_USERS }, acl: MOSQUITTO_ACL, tls: true },
  aedes: aedesAuthOptions(),
});
const mosquitto = [set.mosquitto311, set.mosquitto5];
set.register();
forEachHost((host) => {
  run(host, set.all, "user name and password accepted", passwordAccepted);
  run(host, set.all, "wrong password: clear error with the broker's code, retried with backoff (no storm)", wrongPassword);
  run(host, mosquitto, "acl_file: denied subscription never delivers, denied publish not delivered", mosquittoAclDenial);
  run(host, [set.aedes], "authorization hooks: SUBACK 0x80, denied publish dropped and the client reconnects", aedesAclDenial);
  run(host, mosquitto, "mqtts:// verifying the generated CA", (t, ctx) => tlsVerified(t, ctx, set.mosquitto()));
  run(host, mosquitto, "mqtts:// with a wrong CA fails with a clear TLS error", (t, ctx) => tlsWrongCa(t, ctx, set.mosquitto()));
});
set.registerStop();
