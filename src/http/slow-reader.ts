import type { ServerResponse } from 'node:http'

/**
 * Replies no larger than this leave the process at once (the socket's own buffer takes them), so
 * they are not watched: a poll of a few messages costs no timer.
 */
const UNWATCHED_BYTES = 64 * 1024

/**
 * Cuts the connection of a client that leaves a reply of `bytes` unread for `ms`: a reply not yet
 * taken by the socket is held in this process's memory, and a client that never reads would hold
 * it forever. Cleared when the reply is flushed ('finish') or the client goes ('close').
 */
export function cutIfUnread(response: ServerResponse, bytes: number, ms: number): void {
  if (bytes <= UNWATCHED_BYTES || response.writableFinished) return
  const timer = setTimeout(() => response.destroy(), ms)
  timer.unref()
  const clear = () => clearTimeout(timer)
  response.once('finish', clear)
  response.once('close', clear)
}

/**
 * Waits until `response` has taken what was written ('drain'), or cuts the connection if that
 * takes longer than `ms`. Resolves either way; the caller sees `destroyed` when it was cut.
 */
export function drainOrCut(response: ServerResponse, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    const timer = setTimeout(() => {
      response.destroy()
      done()
    }, ms)
    response.once('drain', done)
    response.once('close', done)
  })
}
