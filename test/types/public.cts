// The public surface as CommonJS consumers see it. Fails to compile when a public name
// or type drifts from SPEC.
import uvscope = require('uvscope');
import type { Equal } from './assert';
import { assertType } from './assert';

assertType<Equal<ReturnType<typeof uvscope.runtime>, uvscope.RuntimeInfo>>();
assertType<Equal<uvscope.RuntimeInfo['metricsInfo'], boolean>>();
assertType<Equal<InstanceType<typeof uvscope.UvscopeError>['code'], uvscope.UvscopeErrorCode>>();
assertType<
  Equal<
    uvscope.UvscopeErrorCode,
    'ERR_UVSCOPE_UNSUPPORTED_RUNTIME' | 'ERR_UVSCOPE_BINARY_NOT_FOUND' | 'ERR_UVSCOPE_INVALID_ARG_TYPE' | 'ERR_UVSCOPE_INVALID_ARG_VALUE'
  >
>();
