import { isRedisOutage } from './script-runner';

class ErrorReply extends Error {
  override name = 'ErrorReply';
}

describe('isRedisOutage', () => {
  it('counts lost, refused and late connections and servers that cannot serve now as outages', () => {
    const socketClosed = Object.assign(new Error('Socket closed unexpectedly'), { name: 'SocketClosedUnexpectedlyError' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    for (const error of [
      socketClosed,
      refused,
      Object.assign(new Error('The client is closed'), { name: 'ClientClosedError' }),
      new ErrorReply('LOADING Redis is loading the dataset in memory'),
      new ErrorReply('BUSY Redis is busy running a script'),
      new ErrorReply('CLUSTERDOWN The cluster is down'),
      new ErrorReply('TRYAGAIN Multiple keys request during rehashing of slot'),
      new ErrorReply('READONLY You can\'t write against a read only replica.'),
    ]) {
      expect({ message: error.message, outage: isRedisOutage(error) }).toEqual({ message: error.message, outage: true });
    }
  });

  it('keeps bugs and wrong calls as they are, so that they are not hidden behind a 503', () => {
    for (const error of [
      new ErrorReply('ERR Error running script: attempt to compare nil with number'),
      new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
      Object.assign(new Error('ERR unknown command'), { name: 'ReplyError' }),
      new Error('CROSSSLOT Keys in request don\'t hash to the same slot'),
      new TypeError('Cannot read properties of undefined'),
      'not an error',
    ]) {
      expect({ error: String(error), outage: isRedisOutage(error) }).toEqual({ error: String(error), outage: false });
    }
  });
});
