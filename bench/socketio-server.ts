import { createServer } from 'node:http'
import { Server } from 'socket.io'

/**
 * The comparison for the hub: a plain Socket.IO server, one room per channel. A client joins a
 * room, and a message sent to a room goes to every other socket in it, with an ack to the
 * sender, as the hub acks a chat_message. It stores nothing and redacts nothing: the ceiling of
 * room broadcast over WebSocket on this machine.
 */
const http = createServer((request, response) => {
  response.statusCode = request.url === '/ready' ? 200 : 404
  response.end()
})
const io = new Server(http, { transports: ['websocket'], serveClient: false })
io.on('connection', (socket) => {
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room)
    ack?.()
  })
  socket.on('msg', (room: string, text: string, ack?: () => void) => {
    socket.to(room).emit('msg', text)
    ack?.()
  })
})
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => {
  io.close()
  process.exit(0)
})
