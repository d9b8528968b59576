// aio::http::FormData — the fields of a submitted form (aiohttp's MultiDictProxy from
// `await request.post()`): an ordered multi-map, filled from a urlencoded or a
// multipart/form-data body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio::http {

/// One field of a form. For a multipart file part, `filename` is set (possibly to "" — a
/// browser sends `filename=""` for an empty file input) and `value` holds the file's bytes.
/// `filename` is exactly what the client sent: it is untrusted (it may hold `/`, `..` or
/// percent-escapes) — never use it as a path unchecked.
struct FormField {
  std::string name;
  std::string value;
  std::optional<std::string> filename;
  /// The part's Content-Type header as sent; "" when absent (and for urlencoded fields).
  std::string content_type;
};

/// The fields of a form, in the order they were sent; a name may repeat
/// (`<select multiple>`, several file inputs with one name).
///
///     aio::http::FormData form = co_await request.post();
///     std::string user = form.get("user").value_or("anonymous");
///     for (const auto& tag : form.getall("tag")) { ... }
class FormData {
 public:
  using value_type = FormField;
  using const_iterator = std::vector<FormField>::const_iterator;
  using iterator = const_iterator;

  /// Appends a plain field (what the urlencoded parser produces).
  void add(std::string name, std::string value) {
    fields_.push_back(FormField{std::move(name), std::move(value), std::nullopt, {}});
  }
  /// Appends a field with all its details (what the multipart parser produces).
  void add(FormField field) { fields_.push_back(std::move(field)); }

  /// The value of the first field called `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const {
    if (const FormField* f = field(name)) return f->value;
    return std::nullopt;
  }
  /// The value of the first field called `name`, or `fallback` (aiohttp's `get(key, default)`).
  std::string get(std::string_view name, std::string_view fallback) const {
    if (const FormField* f = field(name)) return f->value;
    return std::string(fallback);
  }
  /// The values of every field called `name`, in order; empty when there is none.
  std::vector<std::string> getall(std::string_view name) const {
    std::vector<std::string> values;
    for (const FormField& f : fields_) {
      if (f.name == name) values.push_back(f.value);
    }
    return values;
  }
  /// The first field called `name` (with its filename and content type), or nullptr.
  /// The pointer stays valid until the FormData is changed or destroyed.
  const FormField* field(std::string_view name) const {
    for (const FormField& f : fields_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  /// Every field called `name`, in order (several files under one name).
  std::vector<const FormField*> fields(std::string_view name) const {
    std::vector<const FormField*> found;
    for (const FormField& f : fields_) {
      if (f.name == name) found.push_back(&f);
    }
    return found;
  }

  bool contains(std::string_view name) const { return field(name) != nullptr; }
  /// The number of fields, repeated names counted each time.
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }

  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }

 private:
  std::vector<FormField> fields_;
};

}  // namespace aio::http
