// Authentication plugin computations over OpenSSL.
#include "auth.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstring>
#include <memory>

#ifdef AIO_MYSQL_HAVE_SODIUM
#include <sodium.h>
#endif

#include "aio/mysql/errors.hpp"

namespace aio::mysql::detail {

namespace {
// One digest of a + b (EVP: the SHA1_* / SHA256_* calls are deprecated in OpenSSL 3).
std::string digest(const EVP_MD* md, std::string_view a, std::string_view b = {}) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 || EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out, &n) != 1)
    throw OperationalError(2059, "HY000", "OpenSSL could not compute a digest for authentication");
  return std::string(reinterpret_cast<char*>(out), n);
}
std::string sha1(std::string_view a, std::string_view b = {}) { return digest(EVP_sha1(), a, b); }
std::string sha256(std::string_view a, std::string_view b = {}) { return digest(EVP_sha256(), a, b); }

std::string xor_bytes(std::string a, std::string_view b) {
  for (std::size_t i = 0; i < a.size() && !b.empty(); ++i) a[i] = static_cast<char>(a[i] ^ b[i % b.size()]);
  return a;
}
}  // namespace

std::string native_password_scramble(std::string_view password, std::string_view scramble) {
  if (password.empty()) return {};
  std::string stage1 = sha1(password);
  std::string stage2 = sha1(stage1);
  return xor_bytes(stage1, sha1(scramble.substr(0, 20), stage2));
}

std::string caching_sha2_scramble(std::string_view password, std::string_view scramble) {
  if (password.empty()) return {};
  std::string p1 = sha256(password);
  std::string p2 = sha256(p1);
  return xor_bytes(p1, sha256(p2, scramble.substr(0, 20)));
}

std::string caching_sha2_rsa_encrypt(std::string_view password, std::string_view scramble, std::string_view pem) {
  std::string plain = xor_bytes(std::string(password) + '\0', scramble.substr(0, 20));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) throw OperationalError(2061, "HY000", "the server's RSA public key could not be read");
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  std::size_t out_len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, reinterpret_cast<const unsigned char*>(plain.data()),
                       plain.size()) <= 0)
    throw OperationalError(2061, "HY000", "RSA encryption of the password failed");
  std::string out(out_len, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len,
                       reinterpret_cast<const unsigned char*>(plain.data()), plain.size()) <= 0)
    throw OperationalError(2061, "HY000", "RSA encryption of the password failed");
  out.resize(out_len);
  return out;
}

#ifdef AIO_MYSQL_HAVE_SODIUM
namespace {
std::string sha512(std::string_view a, std::string_view b = {}) { return digest(EVP_sha512(), a, b); }
}  // namespace

bool have_ed25519() noexcept { return true; }

std::string ed25519_signature(std::string_view password, std::string_view message) {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw OperationalError(2059, "HY000", "libsodium failed to initialise (client_ed25519)");
  // az: the secret scalar (clamped first half) and the nonce prefix (second half).
  std::string az = sha512(password);
  auto* a_bytes = reinterpret_cast<unsigned char*>(az.data());
  a_bytes[0] &= 248;
  a_bytes[31] &= 63;
  a_bytes[31] |= 64;
  // Reduced mod L: the same point (B has order L), and what the scalar operations expect.
  unsigned char wide[64] = {};
  std::memcpy(wide, a_bytes, 32);
  unsigned char a[32], public_key[32];
  crypto_core_ed25519_scalar_reduce(a, wide);
  if (crypto_scalarmult_ed25519_base_noclamp(public_key, a) != 0)
    throw OperationalError(2059, "HY000", "client_ed25519: the password gives an invalid key");
  std::string nonce_hash = sha512(std::string_view(az).substr(32), message);
  unsigned char r[32], big_r[32];
  crypto_core_ed25519_scalar_reduce(r, reinterpret_cast<const unsigned char*>(nonce_hash.data()));
  if (crypto_scalarmult_ed25519_base_noclamp(big_r, r) != 0)
    throw OperationalError(2059, "HY000", "client_ed25519: signing failed");
  std::string r_and_a(reinterpret_cast<char*>(big_r), 32);
  r_and_a.append(reinterpret_cast<char*>(public_key), 32);
  std::string k_hash = sha512(r_and_a, message);
  unsigned char k[32], ka[32], s[32];
  crypto_core_ed25519_scalar_reduce(k, reinterpret_cast<const unsigned char*>(k_hash.data()));
  crypto_core_ed25519_scalar_mul(ka, k, a);
  crypto_core_ed25519_scalar_add(s, ka, r);  // S = k*a + r (mod L)
  std::string signature(reinterpret_cast<char*>(big_r), 32);
  signature.append(reinterpret_cast<char*>(s), 32);
  return signature;
}
#else
bool have_ed25519() noexcept { return false; }

std::string ed25519_signature(std::string_view, std::string_view) {
  throw OperationalError(2059, "HY000",
                         "authentication plugin 'client_ed25519' needs libsodium, and aio::mysql was built without "
                         "it (Debian: libsodium-dev)");
}
#endif

}  // namespace aio::mysql::detail
