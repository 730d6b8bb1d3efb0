"""The made-up products of the ``tiny_catalog`` fixture (not real data), importable by any test."""

PRODUCTS = [
    ("p1", "Black slim trousers", "Stretch cotton trousers", ("Men", "Trousers"), "Acme", 39.0, "Black"),
    ("p2", "Blue denim jeans", "Classic five-pocket jeans", ("Men", "Trousers"), "Denimco", 49.0, "Blue"),
    ("p3", "Black leather belt", "Leather belt with metal buckle", ("Men", "Accessories"), "Acme", 19.0, "Black"),
    ("p4", "White cotton shirt", "Button-down oxford shirt", ("Men", "Shirts"), "Acme", 29.0, "White"),
    ("p5", "Red summer dress", "Light floral dress for summer", ("Women", "Dresses"), "Flora", 59.0, "Red"),
    ("p6", "Black evening dress", "Long satin evening gown", ("Women", "Dresses"), "Flora", 99.0, "Black"),
    ("p7", "Warm wool sweater", "Chunky knit jumper for winter", ("Women", "Knitwear"), "Nordic", 69.0, "Grey"),
    ("p8", "Kids rain jacket", "Waterproof jacket with hood", ("Kids", "Outerwear"), "Puddle", 35.0, "Yellow"),
    ("p9", "Running shoes", "Lightweight trainers for running", ("Sport", "Shoes"), "Swift", 89.0, "White"),
    ("p10", "Yoga mat", "Non-slip exercise mat", ("Sport", "Equipment"), "Swift", 25.0, "Purple"),
    ("p11", "黑色休闲裤", "男士黑色棉质休闲长裤", ("Men", "Trousers"), "Acme", 45.0, "Black"),
    ("p12", "红色连衣裙", "夏季红色碎花连衣裙", ("Women", "Dresses"), "Flora", 65.0, "Red"),
]
