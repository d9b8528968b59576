// The delaying test backend (see delay.hpp).
#include "backend/delay.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace aio::detail {

DelayBackend::DelayBackend(std::unique_ptr<IoBackend> inner, std::uint64_t seed)
    : inner_(std::move(inner)), rng_(seed) {}

DelayBackend::~DelayBackend() {
  // Ops still ours belong to frames destroyed after the loop, or never: take them back.
  while (!shadows_.empty()) abandon(*shadows_.begin()->first);
}

bool DelayBackend::submit(IoRegistration* reg, IoOp& op) {
  lent_.reset();
  if (op.no_wait) return inner_->submit(reg, op);  // the contract: complete at once
  auto s = std::make_unique<Shadow>();
  s->backend = this;
  s->outer = &op;
  s->reg = reg;
  static_cast<IoOp&>(s->inner) = op;
  s->inner.shadow = s.get();
  s->inner.on_complete = &on_inner_complete;
  s->inner.in_flight = false;
  redirect_receive(*s);
  if (inner_->submit(reg, s->inner)) {
    if (chance(25)) {  // sometimes at once after all, as the contract allows
      copy_out(*s);
      op.result = s->inner.result;
      op.buffer = s->inner.buffer;  // (valid until the next backend call)
      op.buffer_id = -1;
      op.addrlen = s->inner.addrlen;
      lent_ = std::move(s);
      return true;
    }
    record(*s);
  }
  op.in_flight = true;
  shadows_.emplace(&op, std::move(s));
  return false;
}

void DelayBackend::redirect_receive(Shadow& s) {
  IoOp& in = s.inner;
  if ((in.kind == IoKind::recv || in.kind == IoKind::read) && !in.select_buffer) {
    s.bytes.resize(in.length);
    in.buffer = s.bytes.data();
  } else if (in.kind == IoKind::recvmsg) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < in.msg->msg_iovlen; ++i) total += in.msg->msg_iov[i].iov_len;
    s.bytes.resize(total);
    s.iov = {s.bytes.data(), total};
    s.msg = *in.msg;
    s.msg.msg_iov = &s.iov;
    s.msg.msg_iovlen = 1;
    s.msg.msg_name = in.msg->msg_name ? &s.name : nullptr;
    s.msg.msg_namelen = in.msg->msg_name ? static_cast<socklen_t>(sizeof s.name) : 0;
    in.msg = &s.msg;
  }
}

void DelayBackend::copy_out(Shadow& s) noexcept {
  IoOp& out = *s.outer;
  const IoOp& in = s.inner;
  if (in.result <= 0) return;
  const auto n = static_cast<std::size_t>(in.result);
  if ((in.kind == IoKind::recv || in.kind == IoKind::read) && !in.select_buffer) {
    std::memcpy(out.buffer, s.bytes.data(), n);
  } else if (in.kind == IoKind::recvmsg) {
    std::size_t done = 0;
    for (std::size_t i = 0; i < out.msg->msg_iovlen && done < n; ++i) {
      const std::size_t k = std::min(n - done, out.msg->msg_iov[i].iov_len);
      std::memcpy(out.msg->msg_iov[i].iov_base, s.bytes.data() + done, k);
      done += k;
    }
    if (out.msg->msg_name) {
      out.msg->msg_namelen = std::min(out.msg->msg_namelen, s.msg.msg_namelen);
      std::memcpy(out.msg->msg_name, &s.name, out.msg->msg_namelen);
    }
    out.msg->msg_flags = s.msg.msg_flags;
  }
}

void DelayBackend::on_inner_complete(IoOp* op) noexcept {
  // (From the inner poll(), detach() or cancel(): never deliver from here.)
  Shadow* s = static_cast<InnerOp*>(op)->shadow;
  s->backend->record(*s);
}

void DelayBackend::record(Shadow& s) noexcept {
  s.done = true;
  if (s.inner.select_buffer && s.inner.result > 0)
    s.bytes.assign(static_cast<const char*>(s.inner.buffer), static_cast<std::size_t>(s.inner.result));
  s.due = iteration_ + 1 + (chance(30) ? 1 : 0);
  completed_.push_back(&s);
}

void DelayBackend::cancel(IoOp& op) noexcept {
  auto it = shadows_.find(&op);
  if (it == shadows_.end()) return;
  Shadow& s = *it->second;
  if (s.done) return;  // the real result is on its way: it wins
  inner_->cancel(s.inner);
  if (!s.done || !chance(50)) return;
  // The race the other way: had the cancel come a moment later, the op would have
  // finished. Try it once more without waiting; a real outcome replaces -ECANCELED.
  InnerOp retry;
  static_cast<IoOp&>(retry) = s.inner;
  retry.no_wait = true;
  retry.in_flight = false;
  if (!inner_->submit(s.reg, retry) || retry.result == -EAGAIN) return;
  s.inner.result = retry.result;
  s.inner.addrlen = retry.addrlen;
  if (s.inner.select_buffer && retry.result > 0)
    s.bytes.assign(static_cast<const char*>(retry.buffer), static_cast<std::size_t>(retry.result));
}

void DelayBackend::abandon(IoOp& op) noexcept {
  auto it = shadows_.find(&op);
  if (it == shadows_.end()) return;
  std::unique_ptr<Shadow> s = std::move(it->second);
  shadows_.erase(it);
  if (!s->done) inner_->abandon(s->inner);
  std::erase(completed_, s.get());
  // A result nobody will take must not leak: an accepted connection is closed.
  if (s->done && s->inner.kind == IoKind::accept && s->inner.result >= 0) ::close(static_cast<int>(s->inner.result));
  op.in_flight = false;
}

void DelayBackend::deliver(Shadow& s) noexcept {
  IoOp& op = *s.outer;
  auto it = shadows_.find(&op);
  std::unique_ptr<Shadow> owned = std::move(it->second);
  shadows_.erase(it);
  op.in_flight = false;
  op.result = s.inner.result;
  if (op.select_buffer) op.buffer = s.bytes.data();
  op.buffer_id = -1;
  op.addrlen = s.inner.addrlen;
  op.more = false;
  op.cqe_flags = 0;
  copy_out(s);
  op.on_complete(&op);  // the bytes live in `owned` until it returns
}

void DelayBackend::complete_all() noexcept {
  lent_.reset();
  for (int round = 0; round < 16 && !shadows_.empty(); ++round) {
    inner_->complete_all();  // every inner op is now recorded, due or not
    while (!completed_.empty()) {
      Shadow* s = completed_.front();
      completed_.pop_front();
      deliver(*s);
    }
  }
}

void DelayBackend::poll(std::int64_t timeout_ns) {
  lent_.reset();
  ++iteration_;
  if (!completed_.empty()) timeout_ns = 0;  // something is due soon: just look
  inner_->poll(timeout_ns);                 // (what completes now is due next time)
  // In completion order, up to the first one not due yet. Completions recorded meanwhile
  // are due later; an abandoned one has left the queue.
  while (!completed_.empty() && completed_.front()->due <= iteration_) {
    Shadow* s = completed_.front();
    completed_.pop_front();
    deliver(*s);
  }
}

}  // namespace aio::detail
