// The conformance cases inside a module Web Worker (embedded build); posts the result back.
import * as api from '../../../dist/index.js';
import { runCases } from '../conformance-cases.js';

self.postMessage(runCases(api));
