"""Land-use code tables (三调 / 用地用海 / 城市用地分类) and the crosswalk, as package data.

Read them with `geo_renewal.landuse_codes`; edit the CSV files to correct or extend them.
"""
