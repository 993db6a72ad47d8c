// Loaded only by the benchmark (node --expose-gc --require): SIGUSR2 runs a full garbage
// collection, so memory is read after garbage is gone rather than whenever V8 got round to it,
// and writes process.memoryUsage() to NEXUS_BENCH_MEMORY_FILE (RSS alone moves with whatever
// pages the allocator keeps; the heap figure is the steadier one).
const { writeFileSync } = require('node:fs')
process.on('SIGUSR2', () => {
  global.gc()
  if (process.env.NEXUS_BENCH_MEMORY_FILE) writeFileSync(process.env.NEXUS_BENCH_MEMORY_FILE, JSON.stringify(process.memoryUsage()))
})
