import t from 'tap'
import { MemoryStore } from '../../src/store/memory.js'
import { storeConformance } from './conformance.js'

storeConformance(t, (limits) => new MemoryStore(limits))
