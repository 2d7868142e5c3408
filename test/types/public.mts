// The same surface as ESM consumers see it: every name the CommonJS declarations export,
// with the same type.
import * as esm from 'uvscope';
import type * as cjs from '../../dist/index.js';
import type { Equal } from './assert.js';
import { assertType } from './assert.js';

assertType<Equal<keyof typeof esm, keyof typeof cjs>>();
assertType<Equal<typeof esm.loopStats, typeof cjs.loopStats>>();
assertType<Equal<typeof esm.watch, typeof cjs.watch>>();
assertType<Equal<typeof esm.iterations, typeof cjs.iterations>>();
assertType<Equal<typeof esm.threadpool, typeof cjs.threadpool>>();
assertType<Equal<typeof esm.threads, typeof cjs.threads>>();
assertType<Equal<typeof esm.runtime, typeof cjs.runtime>>();
assertType<Equal<typeof esm.UvscopeError, typeof cjs.UvscopeError>>();
assertType<Equal<esm.LoopStats, cjs.LoopStats>>();
assertType<Equal<typeof esm.loopHistograms, typeof cjs.loopHistograms>>();
assertType<Equal<esm.RawHistogram, cjs.RawHistogram>>();

// The bridges' ESM entries expose the same classes and functions as their CommonJS builds.
import * as otelEsm from 'uvscope/otel';
import type * as otelCjs from '../../dist/otel.js';
import * as promEsm from 'uvscope/prometheus';
import type * as promCjs from '../../dist/prometheus.js';
assertType<Equal<typeof otelEsm.UvscopeMetricProducer, typeof otelCjs.UvscopeMetricProducer>>();
assertType<Equal<typeof otelEsm.UvscopeInstrumentation, typeof otelCjs.UvscopeInstrumentation>>();
assertType<Equal<typeof promEsm.registerUvscopeMetrics, typeof promCjs.registerUvscopeMetrics>>();

// The loop probe's clock: the x64 TSC, the arm64 generic timer, or uv_hrtime().
assertType<Equal<ReturnType<typeof esm.runtime>['loopClock'], 'tsc' | 'cntvct' | 'hrtime'>>();
assertType<Equal<typeof esm.stalls, typeof cjs.stalls>>();
assertType<Equal<esm.StallRecord, cjs.StallRecord>>();
