#include "data/splits.h"

#include "data/fashioniq.h"

namespace spn {

CirrSplit load_split(const DataConfig& data, const std::string& name) {
  if (data.kind == DataKind::FashionIq) {
    FashionIqOptions options;
    options.categories = data.fashioniq.categories;
    options.caption_join = data.fashioniq.caption_join;
    options.image_extension = data.fashioniq.image_extension;
    return load_fashioniq_split(data.root, name, options);
  }
  return load_cirr_split(data.root, name);
}

}  // namespace spn
