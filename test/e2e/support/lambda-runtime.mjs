// A Lambda execution environment for one bundled gatewatch function, in its own Node.js process: the
// environment is exactly what the parent passes (the template's variables and Lambda's own), the code
// is the cdk.out asset folder's index.mjs, imported once (the init phase), then invoked for each event
// the parent sends over IPC. An error is answered as Lambda answers an unhandled one: errorType (the
// error's name) and errorMessage.
//
//   node lambda-runtime.mjs <asset folder> <handler, e.g. index.handler> <timeout seconds> <function ARN>
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [assetDir, handlerSpec, timeoutArg, functionArn] = process.argv.slice(2);
const [file, exportName] = handlerSpec.split('.');
const timeoutMs = Number(timeoutArg) * 1000;

let handler;
try {
  const module = await import(pathToFileURL(join(assetDir, `${file}.mjs`)).href);
  handler = module[exportName];
  if (typeof handler !== 'function') throw new TypeError(`${handlerSpec} is not a function`);
} catch (error) {
  process.send({ type: 'init-error', errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) });
  process.exit(1);
}

function context(requestId, started) {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const requestId = randomUUID();
  const started = Date.now();
  try {
    const result = await handler(message.event, context(requestId, started));
    process.send({ type: 'result', id: message.id, result: result ?? null });
  } catch (error) {
    process.send({
      type: 'error',
      id: message.id,
      errorType: error?.name ?? 'Error',
      errorMessage: String(error?.message ?? error),
    });
  }
});
process.send({ type: 'ready' });
