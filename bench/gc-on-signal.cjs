// Loaded only by the benchmark (node --expose-gc --require): SIGUSR2 runs a full garbage
// collection, so memory is read after garbage is gone rather than whenever V8 got round to it.
process.on('SIGUSR2', () => global.gc())
