import { smallCallsScenario } from './small-calls.ts';
import { pinSelf } from './support.ts';
pinSelf();
console.log(await smallCallsScenario(3, 3, ['gateway']));
