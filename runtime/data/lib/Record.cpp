//===- Record.cpp - Records, field mapping, provenance --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/Record.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

using namespace ftl::rt;

std::string OpChain::str() const {
  llvm::SmallVector<const OpChain *, 8> links;
  for (const OpChain *c = this; c; c = c->parent.get())
    links.push_back(c);
  std::string out;
  for (auto it = links.rbegin(); it != links.rend(); ++it) {
    if (!out.empty())
      out += " > ";
    out += (*it)->name;
  }
  return out;
}

const FieldAlias *FieldMapping::find(llvm::StringRef name) const {
  for (const FieldAlias &a : aliases)
    if (a.name == name)
      return &a;
  return nullptr;
}

llvm::Expected<std::vector<std::string>>
ftl::rt::parseFieldPath(llvm::StringRef text) {
  llvm::StringRef rest = text;
  rest.consume_front(".");
  std::vector<std::string> keys;
  if (rest.empty())
    return llvm::createStringError(
        "field path '%s' is empty: expected a field name such as '.question'",
        text.str().c_str());
  if (rest.ends_with("."))
    return llvm::createStringError(
        "field path '%s' ends with '.': expected a name after it",
        text.str().c_str());
  while (!rest.empty()) {
    auto [key, tail] = rest.split('.');
    if (key.empty())
      return llvm::createStringError(
          "field path '%s' has an empty component: expected names separated "
          "by single dots, such as '.meta.question'",
          text.str().c_str());
    keys.push_back(key.str());
    rest = tail;
  }
  return keys;
}

std::string Provenance::where() const {
  std::string out;
  if (source && !source->empty()) {
    out = *source;
    if (line > 0)
      out += ":" + std::to_string(line);
    else if (index >= 0)
      out += "#" + std::to_string(index + 1);
  } else if (index >= 0) {
    out = "record #" + std::to_string(index + 1);
  } else {
    out = "record";
  }
  return out;
}

std::string Provenance::chainString() const {
  return chain ? chain->str() : std::string();
}

static const Value *walk(const std::vector<Member> &fields,
                         llvm::ArrayRef<std::string> path) {
  const Value *cur = nullptr;
  for (const Member &m : fields)
    if (m.name == path.front()) {
      cur = &m.value;
      break;
    }
  for (size_t i = 1; cur && i < path.size(); ++i)
    cur = cur->find(path[i]);
  return cur;
}

const Value *Record::get(llvm::StringRef name) const {
  if (mapping_)
    if (const FieldAlias *a = mapping_->find(name))
      return walk(fields_, a->path);
  for (const Member &m : fields_)
    if (m.name == name)
      return &m.value;
  if (name.contains('.')) {
    llvm::SmallVector<llvm::StringRef, 4> parts;
    name.split(parts, '.');
    const Value *cur = get(parts.front());
    for (size_t i = 1; cur && i < parts.size(); ++i)
      cur = cur->find(parts[i]);
    return cur;
  }
  return nullptr;
}

std::string Record::describeFields() const {
  std::string out;
  for (const Member &m : fields_) {
    if (!out.empty())
      out += ", ";
    out += m.name;
  }
  if (out.empty())
    out = "none";
  if (mapping_ && !mapping_->aliases.empty()) {
    out += "; aliases: ";
    bool first = true;
    for (const FieldAlias &a : mapping_->aliases) {
      if (!first)
        out += ", ";
      first = false;
      out += a.name + " = ";
      for (const std::string &k : a.path)
        out += "." + k;
    }
  }
  return out;
}

llvm::Expected<const Value *> Record::require(llvm::StringRef name) const {
  if (const Value *v = get(name))
    return v;
  if (mapping_)
    if (const FieldAlias *a = mapping_->find(name)) {
      std::string path;
      for (const std::string &k : a->path)
        path += (path.empty() ? "" : ".") + k;
      return recordError(*this, "record has no field '" + path +
                                    "' (mapped to '" + name +
                                    "'; fields: " + describeFields() + ")");
    }
  return recordError(*this, "record has no field '" + name +
                                "' (fields: " + describeFields() + ")");
}

llvm::Expected<llvm::StringRef>
Record::requireString(llvm::StringRef name) const {
  auto v = require(name);
  if (!v)
    return v.takeError();
  if (!(*v)->isString())
    return recordError(*this, "field '" + name + "' is a " + (*v)->kindName() +
                                  ", expected a string");
  return (*v)->getString();
}

void Record::set(llvm::StringRef name, Value value) {
  if (mapping_ && mapping_->find(name)) {
    auto m = std::make_shared<FieldMapping>(*mapping_);
    llvm::erase_if(m->aliases,
                   [&](const FieldAlias &a) { return a.name == name; });
    mapping_ = std::move(m);
  }
  for (Member &m : fields_)
    if (m.name == name) {
      m.value = std::move(value);
      return;
    }
  fields_.push_back(Member{name.str(), std::move(value)});
}

std::vector<std::string> Record::fieldNames() const {
  std::vector<std::string> names;
  for (const Member &m : fields_)
    names.push_back(m.name);
  if (mapping_)
    for (const FieldAlias &a : mapping_->aliases)
      if (llvm::find(names, a.name) == names.end())
        names.push_back(a.name);
  return names;
}

Value Record::toObject() const { return Value::object(fields_); }

void ChainCache::apply(Record &r) {
  const auto &parent = r.provenance().chain;
  if (!valid || parent != lastParent) {
    lastParent = parent;
    lastLink = std::make_shared<OpChain>(OpChain{name, parent});
    valid = true;
  }
  r.setChain(lastLink);
}

llvm::Error ftl::rt::recordError(const Record &r, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s",
                                 r.provenance().where().c_str(),
                                 message.str().c_str());
}
