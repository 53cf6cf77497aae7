#include "data/splits.h"

#include "core/error.h"
#include "data/fashioniq.h"
#include "data/image_folder.h"

namespace spn {

CirrSplit load_split(const DataConfig& data, const std::string& name) {
  if (data.kind == DataKind::Images) {
    if (name != "train")
      throw UserError("data.kind = \"images\": " + data.root + " is a folder of training images; it has no split \"" +
                      name + "\"");
    return load_image_folder(data.root);
  }
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
