import { execFile, execFileSync } from 'node:child_process'
import t from 'tap'
import { root } from './helpers.js'

const installed = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('shellcheck finds nothing in scripts/nexus.sh', { skip: installed ? false : 'shellcheck is not installed (apt-get install shellcheck)' }, async (t) => {
  const found = await new Promise<{ failed: boolean; out: string }>((resolve) =>
    execFile('shellcheck', ['scripts/nexus.sh'], { cwd: root }, (err, stdout, stderr) => resolve({ failed: err !== null, out: stdout + stderr })))
  t.notOk(found.failed, found.out)
})
